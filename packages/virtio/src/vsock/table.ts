// The connections of one device by (guest port, host port), virtio 1.2 §5.10.6.2: a stream is
// named by both ends' (CID, port), and the CIDs are fixed per device. Two u32 ports make a 64-bit
// key, more than a number holds exactly, so the table is two levels of Map (no key is allocated).
import type { VsockConnection } from './connection';

export class ConnectionTable {
  private readonly byHostPort = new Map<number, Map<number, VsockConnection>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(guestPort: number, hostPort: number): VsockConnection | undefined {
    return this.byHostPort.get(hostPort)?.get(guestPort);
  }

  has(guestPort: number, hostPort: number): boolean {
    return this.get(guestPort, hostPort) !== undefined;
  }

  /** Add `c` under its ports; false when the pair is taken. */
  add(c: VsockConnection): boolean {
    let inner = this.byHostPort.get(c.hostPort);
    if (!inner) {
      inner = new Map();
      this.byHostPort.set(c.hostPort, inner);
    }
    if (inner.has(c.guestPort)) return false;
    inner.set(c.guestPort, c);
    this.count++;
    return true;
  }

  /** Remove `c` (only `c` itself, not another connection that took its ports since). */
  delete(c: VsockConnection): void {
    const inner = this.byHostPort.get(c.hostPort);
    if (!inner || inner.get(c.guestPort) !== c) return;
    inner.delete(c.guestPort);
    this.count--;
    if (inner.size === 0) this.byHostPort.delete(c.hostPort);
  }

  /** Every connection, removed from the table. */
  drain(): VsockConnection[] {
    const out: VsockConnection[] = [];
    for (const inner of this.byHostPort.values()) for (const c of inner.values()) out.push(c);
    this.byHostPort.clear();
    this.count = 0;
    return out;
  }
}
