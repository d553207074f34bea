// A ring index crosses threads whole. The device's queue and the driver (another thread over the
// same memfd RAM, as a vCPU is) race on avail idx and used idx at a byte carry (0x00ff ⇄ 0x0100),
// in a child process with V8's optimizing tiers off, as every device's first calls run: there
// a DataView moves a u16 a byte at a time. Before the queue and MappedGuestMemory used aligned
// typed arrays, ~1 s of this broke the queue hundreds of times and the driver read 0x0000 and
// 0x01ff in used idx; a vsock flood test in CI parked its device this way (avail idx 0x0400).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../../..');
const child = path.join(root, 'packages/virtio/test/support/ring-tear-child.ts');

describe('split queue ring indices between threads', () => {
  it('are never read or written half-old, half-new, with V8 optimizing nothing', async () => {
    const flags = ['--no-opt', '--no-maglev', '--no-sparkplug'];
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...flags, '--import', 'tsx', child, '1000'],
      { cwd: root, timeout: 30_000 },
    );
    const r = JSON.parse(stdout) as {
      pops: { chain: number; empty: number; broken: number };
      flips: number;
      usedSeen: Record<string, number>;
    };
    // The race ran: the device saw both avail idx values, the driver both used idx values.
    expect(r.flips).toBeGreaterThan(1000);
    expect(r.pops.chain).toBeGreaterThan(1000);
    expect(r.pops.empty).toBeGreaterThan(1000);
    // Either value is one chain or none; a torn one runs ahead of the ring and breaks the queue.
    expect(r.pops.broken).toBe(0);
    expect(Object.keys(r.usedSeen).sort()).toEqual(['100', 'ff']);
  });
});
