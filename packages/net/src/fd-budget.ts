// Host file descriptors the NATs of this process may hold for their flows (a socket per TCP
// connection and per UDP flow): the soft RLIMIT_NOFILE less a reserve kept for the monitor itself
// (guest RAM, eventfds, disks, threads, a reboot's new VM). A guest opening flows without end hits
// the NAT's caps, and this budget keeps even several NATs from exhausting the process's fd table,
// after which memfd, eventfd and open fail and a reboot breaks.
import fs from 'node:fs';

/** Kept back for the monitor: a quarter of the limit, at least this many. */
export const FD_RESERVE_MIN = 256;

export class FdBudget {
  used = 0;
  constructor(readonly limit: number) {}

  /** Take one for a new flow; false when the budget is spent (refuse the flow). */
  take(): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  give(): void {
    if (this.used > 0) this.used--;
  }
}

/** The soft limit on open files of this process (/proc/self/limits), or 1024 where unknown. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') return Number(m[1]);
    if (m) return 1 << 20;
  } catch {
    // not Linux: assume the common default
  }
  return 1024;
}

let shared: FdBudget | undefined;

/** The budget shared by every NAT of the process (the limit read when the first NAT asks). */
export function natFds(): FdBudget {
  if (!shared) {
    const limit = openFileLimit();
    shared = new FdBudget(Math.max(0, limit - Math.max(FD_RESERVE_MIN, Math.floor(limit / 4))));
  }
  return shared;
}
