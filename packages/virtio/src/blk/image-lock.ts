// A disk image locked for as long as it is open, so that two VMs never write one image at once and
// a read-only user never reads one that a writer changes under it. Open file description locks
// (fcntl(2) F_OFD_SETLK): held by the open image itself (its fd, in whichever thread), released by
// the kernel when it is closed or the process ends, so a killed VM leaves no stale lock. Advisory:
// a program that does not lock is not kept out.
//
// The bytes locked speak both dialects in use:
// - Cloud Hypervisor (block/src/fcntl.rs) locks the whole file, for writing or for reading.
// - QEMU (block/file-posix.c) takes read locks on single bytes: 100 + i while it holds permission
//   bit i (0 consistent read, 1 write), 200 + i while it forbids others that permission. A
//   writer holds 100, 101 and 201; a reader 100 and 201 (no one may write beside it).
// A writer here takes a write lock on the whole file: any lock of either kind conflicts with it,
// both ways. A reader takes QEMU's reader bytes (100 and 201), which conflict with a whole-file
// write lock, let other readers of both kinds in and keep QEMU's writers out (they test 201); it
// then refuses to start if byte 101 is held (a QEMU writer).
import { fsAt, fsConst as C, fsErrno, fsLayout } from '@vmm/hypervisor';
import { BlkImageError } from '../errors';
import { EACCES, EAGAIN } from '../fs/errno';

/** How the image is locked: 'none' where its file system has no such locks (some network ones). */
export type BlkImageLock = 'exclusive' | 'shared' | 'none';

const L = fsLayout.FLOCK;
/** QEMU's lock bytes (block/file-posix.c RAW_LOCK_PERM_BASE, RAW_LOCK_SHARED_BASE + permission bit). */
const QEMU_HOLDS_READ = 100;
const QEMU_HOLDS_WRITE = 101;
const QEMU_FORBIDS_WRITE = 201;

/** Lock the image open as `fd` for writing (`readonly` false) or reading; throws when another holds it. */
export function lockBlkImage(path: string, fd: number, readonly: boolean): BlkImageLock {
  const lock = new OfdLock(fd);
  if (!readonly) {
    const r = lock.set(C.F_WRLCK, 0, 0);
    if (r === 'held') throw inUse(path, lock.writerPresent() ? 'writing' : 'reading', readonly);
    return r === 'ok' ? 'exclusive' : 'none';
  }
  for (const at of [QEMU_HOLDS_READ, QEMU_FORBIDS_WRITE]) {
    const r = lock.set(C.F_RDLCK, at, 1);
    if (r === 'unsupported') return 'none';
    if (r === 'held') throw inUse(path, 'writing', readonly);
  }
  if (lock.held(QEMU_HOLDS_WRITE, 1)) throw inUse(path, 'writing', readonly);
  return 'shared';
}

function inUse(path: string, held: 'reading' | 'writing', readonly: boolean): BlkImageError {
  return new BlkImageError(
    path,
    'EBLKLOCKED',
    `disk image ${path} is in use: another VM or program has it open for ${held} (a file lock): ` +
      (held === 'reading' && !readonly
        ? 'stop it, or give readonly=on here too to share the image read-only'
        : 'stop it first, or give this VM a copy of the image'),
  );
}

/** fcntl(2)'s open file description locks on one fd, through one struct flock. */
class OfdLock {
  private readonly flock = new Uint8Array(L.size);
  private readonly dv = new DataView(this.flock.buffer);

  constructor(private readonly fd: number) {}

  /** F_OFD_SETLK of `type` over [start, start + len) (len 0: to the end, however the file grows). */
  set(type: number, start: number, len: number): 'ok' | 'held' | 'unsupported' {
    this.describe(type, start, len);
    if (fsAt().fcntlLock(this.fd, C.F_OFD_SETLK, this.flock) === 0) return 'ok';
    const errno = fsErrno();
    return errno === EAGAIN || errno === EACCES ? 'held' : 'unsupported';
  }

  /** Whether another open file holds any lock over [start, start + len) (F_OFD_GETLK). */
  held(start: number, len: number): boolean {
    this.describe(C.F_WRLCK, start, len);
    return (
      fsAt().fcntlLock(this.fd, C.F_OFD_GETLK, this.flock) === 0 &&
      this.dv.getInt16(L.fields.l_type, true) !== C.F_UNLCK
    );
  }

  /** Whether the lock in the way is a writer's: a write lock, or QEMU's write permission byte. */
  writerPresent(): boolean {
    this.describe(C.F_WRLCK, 0, 0);
    if (fsAt().fcntlLock(this.fd, C.F_OFD_GETLK, this.flock) !== 0) return true;
    return this.dv.getInt16(L.fields.l_type, true) === C.F_WRLCK || this.held(QEMU_HOLDS_WRITE, 1);
  }

  private describe(type: number, start: number, len: number): void {
    this.flock.fill(0); // l_pid must be 0 for the OFD commands
    this.dv.setInt16(L.fields.l_type, type, true);
    this.dv.setInt16(L.fields.l_whence, C.SEEK_SET, true);
    this.dv.setBigInt64(L.fields.l_start, BigInt(start), true);
    this.dv.setBigInt64(L.fields.l_len, BigInt(len), true);
  }
}
