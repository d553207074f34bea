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
import { OfdLock, fsConst as C } from '@vmm/hypervisor';
import { BlkImageError } from '../errors';

/** How the image is locked: 'none' where its file system has no such locks (some network ones). */
export type BlkImageLock = 'exclusive' | 'shared' | 'none';

/** QEMU's lock bytes (block/file-posix.c RAW_LOCK_PERM_BASE, RAW_LOCK_SHARED_BASE + permission bit). */
const QEMU_HOLDS_READ = 100;
const QEMU_HOLDS_WRITE = 101;
const QEMU_FORBIDS_WRITE = 201;

/** Lock the image open as `fd` for writing (`readonly` false) or reading; throws when another holds it. */
export function lockBlkImage(path: string, fd: number, readonly: boolean): BlkImageLock {
  const lock = new OfdLock(fd);
  if (!readonly) {
    const r = lock.set(C.F_WRLCK, 0, 0);
    if (r === 'held') throw inUse(path, writerPresent(lock) ? 'writing' : 'reading', readonly);
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

/** Whether the lock in the way is a writer's: a write lock, or QEMU's write permission byte. */
function writerPresent(lock: OfdLock): boolean {
  const type = lock.holder(C.F_WRLCK, 0, 0);
  return type === undefined || type === C.F_WRLCK || lock.held(QEMU_HOLDS_WRITE, 1);
}
