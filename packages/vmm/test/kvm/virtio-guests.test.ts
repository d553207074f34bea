// Tier 2: the virtio-mmio test guests (test-vms/guests/virtio/) under `vmm run` on /dev/kvm: the
// same checks test-vms/src/guests/virtio-qemu.test.ts makes against QEMU microvm. Our monitor
// appends `virtio_mmio.device=512@0xd0000000:5 ...` to the command line (devices in the order
// disks, console, rng: machine/virtio-devices.ts); the guests probe each entry for their device ID.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import {
  BLK_PATTERN_BYTES,
  BLK_PATTERN_SECTOR,
  BLK_READ_BYTES,
  blkPattern,
  parseVirtioOutput,
} from '../../../../test-vms/src/guests/virtio-output';
import { runToEnd, vmmCommand } from '../support/console-process';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: virtio test guests on /dev/kvm');
const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

describe.skipIf(!canRun)('virtio test guests on /dev/kvm under vmm run', () => {
  let g: Record<string, string>;
  let work = '';
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-virtio-guests-'));
    g = await buildGuests();
  }, 300_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const vmm = (kernel: string, ...args: string[]) => [
    ...vmmCommand,
    'run',
    '--kernel',
    kernel,
    '--memory',
    'size=128M',
    '--serial',
    'tty',
    ...args,
  ];
  const disk = (bytes: Buffer): string => {
    const p = path.join(work, `disk-${crypto.randomBytes(4).toString('hex')}.img`);
    fs.writeFileSync(p, bytes);
    return p;
  };

  it('blk-pattern writes, flushes and reads back the pattern; the image holds it', async () => {
    const img = disk(Buffer.alloc(1 << 20));
    const r = await runToEnd(vmm(g['blk-pattern']!, '--disk', `path=${img},serial=vmm-disk-7`));
    expect(r.code, r.err).toBe(0);
    const o = parseVirtioOutput(r.out);
    expect(o.errors).toEqual([]);
    expect(o.capacity).toBe(2048);
    expect(o.serial).toBe('vmm-disk-7');
    expect(o.statuses.map((s) => [s.op, s.status])).toEqual([
      ['get_id', 0],
      ['write', 0],
      ['flush', 0],
      ['read', 0],
    ]);
    const pattern = blkPattern();
    expect(o.sha256).toBe(sha256(pattern));
    const start = BLK_PATTERN_SECTOR * 512;
    expect(
      fs
        .readFileSync(img)
        .subarray(start, start + BLK_PATTERN_BYTES)
        .equals(pattern),
    ).toBe(true);
    expect(o.done).toBe(true);
  });

  it('blk-read hashes what the host wrote; a read-only disk refuses the write with IOERR', async () => {
    const bytes = crypto.randomBytes(64 * 1024);
    const img = disk(bytes);
    const r = await runToEnd(vmm(g['blk-read']!, '--disk', `path=${img},readonly=on`));
    expect(r.code, r.err).toBe(0);
    const o = parseVirtioOutput(r.out);
    expect(o.errors).toEqual([]);
    expect(o.capacity).toBe(128);
    expect(o.sha256).toBe(sha256(bytes.subarray(0, BLK_READ_BYTES)));
    expect(o.statuses.find((s) => s.op === 'read')?.status).toBe(0);
    expect(o.statuses.find((s) => s.op === 'write')?.status).toBe(1); // VIRTIO_BLK_S_IOERR
    expect(fs.readFileSync(img).equals(bytes)).toBe(true);
    expect(o.done).toBe(true);
  });

  it('virtio-rng returns 64 bytes that are not all zero', async () => {
    const r = await runToEnd(vmm(g['virtio-rng']!, '--rng'));
    expect(r.code, r.err).toBe(0);
    const o = parseVirtioOutput(r.out);
    expect(o.errors).toEqual([]);
    expect(o.rng).toMatch(/^[0-9a-f]{128}$/);
    expect(o.rngNonZero).toBeGreaterThan(32);
    expect(o.done).toBe(true);
  });

  it('virtio-console port 0 carries the guest line to the host', async () => {
    const hvc = path.join(work, 'hvc0.out');
    const r = await runToEnd(vmm(g['virtio-console']!, '--console', `file=${hvc}`));
    expect(r.code, r.err).toBe(0);
    const o = parseVirtioOutput(r.out);
    expect(o.errors).toEqual([]);
    expect(o.done).toBe(true);
    expect(fs.readFileSync(hvc, 'latin1')).toBe('HVC hello from the guest\n');
  });

  it('finds each device among several (disk, console and rng together)', async () => {
    const img = disk(Buffer.alloc(1 << 20));
    const hvc = path.join(work, 'hvc0-all.out');
    const r = await runToEnd(
      vmm(g['virtio-rng']!, '--disk', `path=${img}`, '--console', `file=${hvc}`, '--rng'),
    );
    expect(r.code, r.err).toBe(0);
    expect(parseVirtioOutput(r.out).rngNonZero).toBeGreaterThan(32);
  });
});
