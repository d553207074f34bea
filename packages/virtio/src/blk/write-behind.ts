// When a disk asks the host to start writing back what the guest wrote (writeback.ts): once a
// run of back-to-back writes (each starting where the last one ended) reaches
// WRITE_BEHIND_BYTES. Scattered small writes are left to the kernel's own writeback, which may
// merge them; a sequential stream, the case where a later FLUSH would otherwise wait for all of
// it at once, goes to the disk while the guest is still writing.

/** A run of back-to-back writes this long has its writeback started. */
export const WRITE_BEHIND_BYTES = 1024 * 1024;

export class WriteBehind {
  private runStart = 0;
  private runEnd = -1;
  private dueFrom = 0;
  private dueTo = 0;

  /** A write of [offset, offset+len) completed. */
  wrote(offset: number, len: number): void {
    if (len <= 0) return;
    if (offset !== this.runEnd) this.runStart = offset;
    this.runEnd = offset + len;
    if (this.runEnd - this.runStart < WRITE_BEHIND_BYTES) return;
    // Several runs due in one batch: one range over them all (clean pages in between cost nothing).
    if (this.dueTo > this.dueFrom) {
      this.dueFrom = Math.min(this.dueFrom, this.runStart);
      this.dueTo = Math.max(this.dueTo, this.runEnd);
    } else {
      this.dueFrom = this.runStart;
      this.dueTo = this.runEnd;
    }
    this.runStart = this.runEnd;
  }

  /** The range whose writeback is due, once: [from, from + len), or len 0 when none. */
  take(out: { from: number; len: number }): void {
    out.from = this.dueFrom;
    out.len = this.dueTo - this.dueFrom;
    this.dueFrom = this.dueTo = 0;
  }
}
