// What each thread of a process is doing, from /proc: when a guest stops making progress, this
// tells a vCPU blocked in KVM_RUN (ioctl) from one waiting on a lock (futex) or a pipe (write).
import fs from 'node:fs';
import { syscallName } from '../../../hypervisor/src/test-support/thread-syscall';

/** A stat line's fields after the command name (which may hold spaces): [0] is field 3, the state. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime, stime and guest_time of a thread, in clock ticks (proc(5): fields 14, 15, 43). */
function cpuTimes(f: readonly string[]): number[] {
  return [f[11], f[12], f[40]].map(Number);
}

/**
 * One line per thread of `pid`: tid, name, state, kernel wait channel, syscall, and the CPU it
 * used over `sampleMs` as user/system/guest ticks (a vCPU thread running guest code shows guest
 * time; one spinning in the monitor, user time only); '' when the process has gone.
 */
export function threadReport(pid: number | undefined, sampleMs = 500): string {
  if (pid === undefined) return '';
  const dir = `/proc/${pid}/task`;
  let tids: string[];
  try {
    tids = fs.readdirSync(dir);
  } catch {
    return '';
  }
  const read = (tid: string, f: string) => {
    try {
      return fs.readFileSync(`${dir}/${tid}/${f}`, 'latin1').trim();
    } catch {
      return '?';
    }
  };
  const before = new Map(tids.map((tid) => [tid, cpuTimes(statFields(read(tid, 'stat')))]));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sampleMs);
  return tids
    .map((tid) => {
      const fields = statFields(read(tid, 'stat'));
      const used = cpuTimes(fields)
        .map((t, i) => t - (before.get(tid)?.[i] ?? t))
        .join('/');
      const state = fields[0];
      const sys = read(tid, 'syscall').split(' ');
      const call =
        sys[0] === 'running'
          ? 'running'
          : `${syscallName(Number(sys[0])) ?? sys[0]}(${sys.slice(1, 3).join(', ')})`;
      return `  ${tid} ${read(tid, 'comm')} ${state} wchan=${read(tid, 'wchan')} ${call} cpu u/s/g=${used}`;
    })
    .join('\n');
}
