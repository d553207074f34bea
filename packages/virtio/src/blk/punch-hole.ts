// Deallocate a byte range of a file so it reads as zeros: fallocate(FALLOC_FL_PUNCH_HOLE |
// FALLOC_FL_KEEP_SIZE), called through koffi on the libuv pool (never on the caller's thread), or
// synchronously for a device served in its own I/O thread. Where that is unavailable (not Linux, a
// file system without holes) the caller writes zeros.
import { optionalLibcFunc } from './libc-func';

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;

const load = optionalLibcFunc<[fd: number, mode: number, offset: number, len: number]>(
  'int fallocate(int fd, int mode, int64_t offset, int64_t len)',
);

/** Punch [offset, offset+len) out of `fd`; `cb(true)` when done, `cb(false)` when the caller must write zeros. */
export function punchHole(fd: number, offset: number, len: number, cb: (ok: boolean) => void): void {
  const f = load();
  if (!f) {
    queueMicrotask(() => cb(false));
    return;
  }
  f.async(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len, (err, res) => cb(!err && res === 0));
}

/** punchHole on the calling thread: true when done, false when the caller must write zeros. */
export function punchHoleSync(fd: number, offset: number, len: number): boolean {
  const f = load();
  return f !== null && f(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) === 0;
}
