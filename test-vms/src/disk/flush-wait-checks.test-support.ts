// What blk-flush-wait's run must show in an strace log of its monitor (sync-trace.ts), checked the
// same way whichever monitor ran it (QEMU here, `vmm run` on a KVM host).
import { expect } from 'vitest';
import { FLUSH_WAIT_BYTES } from './flush-wait';
import type { SyncTrace } from './sync-trace';

/**
 * The monitor wrote the guest's 64 KiB to the image, then an fdatasync of the image returned 0, and
 * only then did the first byte of the guest's FLUSH status line reach the console.
 */
export function expectSyncedBeforeFlushLine(t: SyncTrace, log: string): void {
  // The console as strace saw it is the guest's (the right fd was traced).
  expect(t.console, log).toContain('BLK capacity=2048');
  const sync = t.syncs.find((s) => s.ret === 0);
  expect(sync, `no successful fdatasync/fsync of the image in ${log}`).toBeDefined();
  expect(sync!.call).toBe('fdatasync');
  expect(sync!.imageBytesBefore).toBeGreaterThanOrEqual(FLUSH_WAIT_BYTES);
  const flushLineAt = t.console.search(/BLK-STATUS op=flush/);
  expect(flushLineAt, t.console).toBeGreaterThan(-1);
  expect(flushLineAt).toBeGreaterThanOrEqual(sync!.consoleAt);
}
