// Deallocate a byte range of a file so it reads as zeros: fallocate(FALLOC_FL_PUNCH_HOLE |
// FALLOC_FL_KEEP_SIZE), called through koffi on the libuv pool (never on the caller's thread), or
// synchronously for a device served in its own I/O thread. Where that is unavailable (not Linux, a
// file system without holes) the caller writes zeros.
import koffi from 'koffi';

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;

type Fallocate = ((fd: number, mode: number, offset: number, len: number) => number) & {
  async: AsyncFallocate;
};

type AsyncFallocate = (
  fd: number,
  mode: number,
  offset: number,
  len: number,
  cb: (err: unknown, res: number) => void,
) => void;

let fallocate: Fallocate | null | undefined;

function load(): Fallocate | null {
  if (fallocate !== undefined) return fallocate;
  fallocate = null;
  if (process.platform === 'linux') {
    try {
      const libc = koffi.load('libc.so.6');
      fallocate = libc.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)') as Fallocate;
    } catch {
      fallocate = null;
    }
  }
  return fallocate;
}

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
