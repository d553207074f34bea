// A disk image locked for as long as it is open: an exclusive lock when the VM may write it, a
// shared one when it only reads, as QEMU and Cloud Hypervisor do, so that two VMs (or a VM and
// a tool that locks, like QEMU) never write one image at once and a read-only user never reads
// one that a writer changes under it. Whole-file open file description locks (fcntl(2) F_OFD_SETLK):
// held by the open image itself (its fd, in whichever thread), released by the kernel when it is
// closed or the process ends, so a killed VM leaves no stale lock. Advisory: a program that does
// not lock is not kept out.
import { fsAt, fsConst as C, fsErrno, fsLayout } from '@vmm/hypervisor';
import { BlkImageError } from '../errors';

/** How the image is locked: 'none' where its file system has no such locks (some network ones). */
export type BlkImageLock = 'exclusive' | 'shared' | 'none';

const EAGAIN = 11;
const EACCES = 13;
const L = fsLayout.FLOCK;

/** Lock the image open as `fd` for writing (`readonly` false) or reading; throws when another holds it. */
export function lockBlkImage(path: string, fd: number, readonly: boolean): BlkImageLock {
  const flock = new Uint8Array(L.size);
  const dv = new DataView(flock.buffer);
  dv.setInt16(L.fields.l_type, readonly ? C.F_RDLCK : C.F_WRLCK, true);
  dv.setInt16(L.fields.l_whence, C.SEEK_SET, true);
  // l_start, l_len (0: to the end, however the file grows) and l_pid (must be 0) stay 0.
  const fs = fsAt();
  if (fs.fcntlLock(fd, C.F_OFD_SETLK, flock) === 0) return readonly ? 'shared' : 'exclusive';
  const errno = fsErrno();
  if (errno !== EAGAIN && errno !== EACCES) return 'none';
  // Who holds it, for the message: F_OFD_GETLK says the kind of the lock in the way.
  dv.setInt16(L.fields.l_type, C.F_WRLCK, true);
  const held =
    fs.fcntlLock(fd, C.F_OFD_GETLK, flock) === 0 && dv.getInt16(L.fields.l_type, true) === C.F_RDLCK
      ? 'reading'
      : 'writing';
  throw new BlkImageError(
    path,
    'EBLKLOCKED',
    `disk image ${path} is in use: another VM or program has it open for ${held} (a file lock): ` +
      (held === 'reading' && !readonly
        ? 'stop it, or give readonly=on here too to share the image read-only'
        : 'stop it first, or give this VM a copy of the image'),
  );
}
