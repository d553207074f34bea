// Deallocate a byte range of a file so it reads as zeros: fallocate(FALLOC_FL_PUNCH_HOLE |
// FALLOC_FL_KEEP_SIZE), called through koffi on the libuv pool (never on the caller's thread).
// Where that is unavailable (not Linux, a file system without holes) the caller writes zeros.
import koffi from 'koffi';

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;

type AsyncFallocate = (
  fd: number,
  mode: number,
  offset: number,
  len: number,
  cb: (err: unknown, res: number) => void,
) => void;

let fallocateAsync: AsyncFallocate | null | undefined;

function load(): AsyncFallocate | null {
  if (fallocateAsync !== undefined) return fallocateAsync;
  fallocateAsync = null;
  if (process.platform === 'linux') {
    try {
      const libc = koffi.load('libc.so.6');
      const fn = libc.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)');
      fallocateAsync = fn.async as AsyncFallocate;
    } catch {
      fallocateAsync = null;
    }
  }
  return fallocateAsync;
}

/** Punch [offset, offset+len) out of `fd`; `cb(true)` when done, `cb(false)` when the caller must write zeros. */
export function punchHole(fd: number, offset: number, len: number, cb: (ok: boolean) => void): void {
  const f = load();
  if (!f) {
    queueMicrotask(() => cb(false));
    return;
  }
  f(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len, (err, res) => cb(!err && res === 0));
}
