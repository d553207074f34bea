// Tests only: a thread that installs one of the monitor's seccomp policies, then makes a call the
// policy does not allow: opening a file for writing (device policy) or an ioctl not on the vCPU
// list (TCGETS on stdin); or the one call the filter answers with EACCES: glibc's read-only open
// of /proc/sys/vm/overcommit_memory (seccomp/filter.ts says when glibc makes it). Reports what
// happened, if it is still alive to report.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { installSeccomp, type SeccompMode } from '@vmm/hypervisor';
import { createBlkDevice } from '@vmm/virtio';
import { deviceThreadPolicy, vcpuThreadPolicy } from '../../src/sandbox/seccomp-policies';

const { policy, attempt, mode, file } = workerData as {
  policy: 'device' | 'vcpu';
  attempt: 'open' | 'read-only-open' | 'ioctl';
  mode: SeccompMode;
  file: string;
};
const TCGETS = 0x5401;
const KVM_RUN = 0xae80;
const ioctl = koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request, void *arg)') as (
  fd: number,
  req: number,
  arg: Uint8Array,
) => number;
const termios = new Uint8Array(64);
fs.writeFileSync(file, 'secret');
fs.writeFileSync(`${file}.img`, new Uint8Array(512));
// The device policy a disk's thread gets: the generic one plus the disk's file I/O.
const disk = createBlkDevice({ path: `${file}.img`, readonly: true });
const devicePolicy = deviceThreadPolicy(disk.threadSpec().syscalls);
disk.close();
installSeccomp(policy === 'device' ? devicePolicy : vcpuThreadPolicy([KVM_RUN]), mode);
let result: string;
if (attempt === 'open') {
  const fd = fs.openSync(file, 'r+');
  result = fs.readFileSync(fd, 'utf8');
} else if (attempt === 'read-only-open') {
  // openat(AT_FDCWD, path, O_RDONLY|O_CLOEXEC): the flags glibc's __open_nocancel passes.
  try {
    result = fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8');
  } catch (e) {
    result = (e as NodeJS.ErrnoException).code ?? String(e);
  }
} else result = String(ioctl(0, TCGETS, termios));
parentPort!.postMessage({ survived: true, result });
