// fcntl(2)'s open file description locks (F_OFD_SETLK, F_OFD_GETLK) on one fd, through one
// struct flock: held by the open file itself (in whichever thread), released by the kernel when
// it is closed or the process ends, so a killed process leaves no stale lock. Advisory: a program
// that does not lock is not kept out.
import { EACCES, EAGAIN } from './errno';
import { fsAt, fsErrno } from './fs-at';
import * as C from './fs-constants';
import { FLOCK as L } from './fs-layout';

export class OfdLock {
  private readonly flock = new Uint8Array(L.size);
  private readonly dv = new DataView(this.flock.buffer);

  constructor(private readonly fd: number) {}

  /**
   * F_OFD_SETLK of `type` (F_RDLCK, F_WRLCK, F_UNLCK) over [start, start + len) (len 0: to the
   * end, however the file grows). 'unsupported': the file system has no such locks.
   */
  set(type: number, start: number, len: number): 'ok' | 'held' | 'unsupported' {
    this.describe(type, start, len);
    if (fsAt().fcntlLock(this.fd, C.F_OFD_SETLK, this.flock) === 0) return 'ok';
    const errno = fsErrno();
    return errno === EAGAIN || errno === EACCES ? 'held' : 'unsupported';
  }

  /** Whether another open file holds a lock over [start, start + len) that a write lock would meet (no answer: no). */
  held(start: number, len: number): boolean {
    const type = this.holder(C.F_WRLCK, start, len);
    return type !== undefined && type !== C.F_UNLCK;
  }

  /**
   * The type of the lock another open file holds in the way of a `type` lock over
   * [start, start + len) (F_UNLCK: none), or undefined when the kernel gives no answer.
   */
  holder(type: number, start: number, len: number): number | undefined {
    this.describe(type, start, len);
    if (fsAt().fcntlLock(this.fd, C.F_OFD_GETLK, this.flock) !== 0) return undefined;
    return this.dv.getInt16(L.fields.l_type, true);
  }

  private describe(type: number, start: number, len: number): void {
    this.flock.fill(0); // l_pid must be 0 for the OFD commands
    this.dv.setInt16(L.fields.l_type, type, true);
    this.dv.setInt16(L.fields.l_whence, C.SEEK_SET, true);
    this.dv.setBigInt64(L.fields.l_start, BigInt(start), true);
    this.dv.setBigInt64(L.fields.l_len, BigInt(len), true);
  }
}
