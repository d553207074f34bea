// What each thread of a process is doing, from /proc: when a guest stops making progress, this
// tells a vCPU blocked in KVM_RUN (ioctl) from one waiting on a lock (futex) or a pipe (write).
import fs from 'node:fs';

/** Syscall numbers (x86_64) a stuck monitor thread is likely to sit in. */
const SYSCALL_NAMES: Record<string, string> = {
  '0': 'read',
  '1': 'write',
  '7': 'poll',
  '16': 'ioctl',
  '202': 'futex',
  '232': 'epoll_wait',
  '281': 'epoll_pwait',
};

/** utime, stime and guest_time of a thread, in clock ticks (proc(5): fields 14, 15, 43). */
function cpuTimes(stat: string): number[] {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
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
  const before = new Map(tids.map((tid) => [tid, cpuTimes(read(tid, 'stat'))]));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sampleMs);
  return tids
    .map((tid) => {
      const stat = read(tid, 'stat');
      const now = cpuTimes(stat);
      const used = now.map((t, i) => t - (before.get(tid)?.[i] ?? t)).join('/');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      const sys = read(tid, 'syscall').split(' ');
      const call =
        sys[0] === 'running'
          ? 'running'
          : `${SYSCALL_NAMES[sys[0] ?? ''] ?? sys[0]}(${sys.slice(1, 3).join(', ')})`;
      return `  ${tid} ${read(tid, 'comm')} ${state} wchan=${read(tid, 'wchan')} ${call} cpu u/s/g=${used}`;
    })
    .join('\n');
}
