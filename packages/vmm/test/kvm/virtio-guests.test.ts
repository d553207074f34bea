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
  expectBlkPattern,
  expectBlkReadOnly,
  expectConsole,
  expectConsoleTaken,
  expectRng,
} from '../../../../test-vms/src/guests/virtio-checks.test-support';
import { runToEnd, vmmCommand } from '../support/console-process';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: virtio test guests on /dev/kvm');

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
    expectBlkPattern(r.out, img, 'vmm-disk-7');
  });

  it('blk-read hashes what the host wrote; a read-only disk refuses the write with IOERR', async () => {
    const bytes = crypto.randomBytes(64 * 1024);
    const img = disk(bytes);
    const r = await runToEnd(vmm(g['blk-read']!, '--disk', `path=${img},readonly=on`));
    expect(r.code, r.err).toBe(0);
    expectBlkReadOnly(r.out, img, bytes);
  });

  it('a reset through the FADT reset register reboots a fresh VM with the same disk; --no-reboot ends the run', async () => {
    const img = disk(Buffer.alloc(1 << 20));
    const r = await runToEnd(vmm(g['blk-reboot']!, '--disk', `path=${img}`));
    expect(r.code, r.err).toBe(0);
    expect(r.out.match(/^BOOT-COUNT \d+\r?$/gm)?.map((l) => l.trim())).toEqual([
      'BOOT-COUNT 0',
      'BOOT-COUNT 1',
    ]);
    expect(r.out).toMatch(/^RESET reg=fadt\r?$/m);
    expect(r.out).toMatch(/^DONE\r?$/m);
    expect(r.err).toMatch(/rebooting/);
    expect(fs.readFileSync(img)[0]).toBe(1);

    const once = disk(Buffer.alloc(1 << 20));
    const q = await runToEnd(vmm(g['blk-reboot']!, '--disk', `path=${once}`, '--no-reboot'));
    expect(q.code, q.err).toBe(0);
    expect(q.out.match(/^BOOT-COUNT \d+\r?$/gm)?.map((l) => l.trim())).toEqual(['BOOT-COUNT 0']);
    expect(q.out).not.toMatch(/RESET-FAILED|DONE/);
    expect(fs.readFileSync(once)[0]).toBe(1);
  });

  it('virtio-rng returns 64 bytes that are not all zero', async () => {
    const r = await runToEnd(vmm(g['virtio-rng']!, '--rng'));
    expect(r.code, r.err).toBe(0);
    expectRng(r.out);
  });

  it('virtio-console port 0 carries the guest line to the host', async () => {
    const hvc = path.join(work, 'hvc0.out');
    const r = await runToEnd(vmm(g['virtio-console']!, '--console', `file=${hvc}`));
    expect(r.code, r.err).toBe(0);
    expectConsole(r.out, hvc);
  });

  it('virtio-console null is a device whose output goes nowhere; off is no device', async () => {
    const r = await runToEnd(vmm(g['virtio-console']!, '--console', 'null'));
    expect(r.code, r.err).toBe(0);
    expectConsoleTaken(r.out);
    const off = await runToEnd(vmm(g['virtio-console']!, '--console', 'off'));
    expect(off.out).toMatch(/no usable virtio-console device/);
  });

  it('finds each device among several (disk, console and rng together)', async () => {
    const img = disk(Buffer.alloc(1 << 20));
    const hvc = path.join(work, 'hvc0-all.out');
    const r = await runToEnd(
      vmm(g['virtio-rng']!, '--disk', `path=${img}`, '--console', `file=${hvc}`, '--rng'),
    );
    expect(r.code, r.err).toBe(0);
    expectRng(r.out);
  });
});
