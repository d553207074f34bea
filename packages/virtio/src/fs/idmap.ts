// uid/gid mapping between the guest and the host, for a server run by an unprivileged host user:
// ranges as in /proc/PID/uid_map ("guest id, host id, count"). With no ranges every id maps to
// itself. A host id outside every range shows to the guest as the overflow id (65534, as a user
// namespace shows it); a guest id outside every range cannot be given to a host file (EPERM).

export interface IdMapRange {
  /** First id as the guest sees it. */
  guest: number;
  /** First id on the host. */
  host: number;
  /** How many consecutive ids. */
  count: number;
}

export const OVERFLOW_ID = 65534;

export class IdMap {
  readonly identity: boolean;
  private readonly ranges: readonly IdMapRange[];

  constructor(ranges: readonly IdMapRange[] = []) {
    this.ranges = ranges;
    this.identity = ranges.length === 0;
  }

  /** The id the guest sees for host id `host`. */
  toGuest(host: number): number {
    if (this.identity) return host;
    for (const r of this.ranges)
      if (host >= r.host && host - r.host < r.count) return r.guest + (host - r.host);
    return OVERFLOW_ID;
  }

  /** The host id for guest id `guest`, or -1 when it is not mapped. */
  toHost(guest: number): number {
    if (this.identity) return guest;
    for (const r of this.ranges)
      if (guest >= r.guest && guest - r.guest < r.count) return r.host + (guest - r.guest);
    return -1;
  }
}
