// Start the host's writeback of a byte range a guest just wrote: sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE only, which queues the dirty pages for writing and returns without
// waiting for them (it does not make anything durable: FLUSH still runs fdatasync). PostgreSQL
// does the same after its writes (backend_flush_after, checkpoint_flush_after) so that its fsync
// finds less to do and the page cache holds less dirty data. Called through koffi on the libuv
// pool, or on the calling thread for a device served in its own I/O thread. Where it is
// unavailable (not Linux, no libc symbol) the caller stops asking.
import { optionalLibcFunc } from './libc-func';

/** include/uapi/linux/fs.h */
const SYNC_FILE_RANGE_WRITE = 2;

const load = optionalLibcFunc<[fd: number, offset: number, nbytes: number, flags: number]>(
  'int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)',
);

/** Whether writeback hints can be given on this host at all. */
export function writebackAvailable(): boolean {
  return load() !== null;
}

/** Queue [offset, offset+len) of `fd` for writeback on the calling thread; false when that failed. */
export function startWritebackSync(fd: number, offset: number, len: number): boolean {
  const f = load();
  return f !== null && f(fd, offset, len, SYNC_FILE_RANGE_WRITE) === 0;
}

/** The same on the libuv pool; `cb(false)` when it failed. */
export function startWriteback(fd: number, offset: number, len: number, cb: (ok: boolean) => void): void {
  const f = load();
  if (!f) {
    queueMicrotask(() => cb(false));
    return;
  }
  f.async(fd, offset, len, SYNC_FILE_RANGE_WRITE, (err, res) => cb(!err && res === 0));
}
