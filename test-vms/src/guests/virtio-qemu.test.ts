// The virtio-mmio test guests (guests/virtio/) under QEMU microvm, the reference monitor: modern
// (version 2) virtio-mmio transports, COM1 to a file. microvm with acpi=on describes its transports
// only in the DSDT, so we boot with auto-kernel-cmdline=off and name all of them ourselves on the
// command line as `virtio_mmio.device=512@ADDR:GSI` (what our monitor does); the guests probe each
// and take the first with the device ID they want. Runs under TCG here (-enable-kvm where usable).
// The guests wait for completions in `sti; hlt`, woken by the device's interrupt through microvm's
// IOAPIC (guests/virtio/irq.h): each test also checks that they took interrupts (IRQS n > 0).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QEMU, hasGcc, hasQemu, qemuAccel } from '../qemu-host.test-support';
import { buildGuests } from './build';
import { expectBlkPattern, expectBlkReadOnly, expectConsole, expectRng } from './virtio-checks.test-support';
import { parseVirtioOutput } from './virtio-output';

const canRun = hasQemu && hasGcc;
if (!canRun) console.warn(`SKIP (no ${hasQemu ? 'gcc' : QEMU}): virtio test guests under QEMU`);

/**
 * QEMU microvm's virtio-mmio transports (hw/i386/microvm.c: VIRTIO_MMIO_BASE, 512 bytes each).
 * With acpi=on microvm adds a second IOAPIC (ioapic2, GSI base 24, listed in the MADT) and puts
 * its 24 transports on GSI 24 up (without it: 8 transports on GSI 5 up). The guests route the GSI
 * they are given through the MADT's IOAPIC entries, so it must be the real one.
 */
const MICROVM_TRANSPORTS = 24;
const MICROVM_VIRTIO_BASE = 0xfeb00000;
const MICROVM_VIRTIO_GSI = 24;
/** The transports as `virtio_mmio.device=` entries; `gsi` overrides every entry's interrupt. */
const transports = (gsi?: number) =>
  Array.from(
    { length: MICROVM_TRANSPORTS },
    (_, i) =>
      `virtio_mmio.device=512@0x${(MICROVM_VIRTIO_BASE + i * 512).toString(16)}:${gsi ?? MICROVM_VIRTIO_GSI + i}`,
  ).join(' ');
const CMDLINE = transports();
/** Past the guests' 30 s virtio watchdog (test-vms/guests/virtio/irq.h), which one test waits out. */
const RUN_TIMEOUT_MS = 90_000;

let work = '';

function runQemu(
  elf: string,
  devices: readonly string[],
  cmdline = CMDLINE,
): Promise<{ out: string; code: number | null }> {
  const args = [
    '-M',
    'microvm,acpi=on,auto-kernel-cmdline=off',
    ...qemuAccel,
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-m',
    '128M',
    '-global',
    'virtio-mmio.force-legacy=false',
    ...devices,
    '-kernel',
    elf,
    '-append',
    cmdline,
  ];
  // COM1 to a regular file: QEMU drops bytes on Node's pipes (see qemu.test.ts).
  const outPath = path.join(work, `com1-${path.basename(elf)}-${Date.now()}.out`);
  const fd = fs.openSync(outPath, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', fd, 'inherit'] });
    fs.closeSync(fd);
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out: fs.readFileSync(outPath, 'latin1'), code });
    });
  });
}

const disk = (bytes: Buffer): string => {
  const p = path.join(work, `disk-${crypto.randomBytes(4).toString('hex')}.img`);
  fs.writeFileSync(p, bytes);
  return p;
};

const blkDevice = (img: string, opts: string) => [
  '-device',
  `virtio-blk-device,drive=d0${opts}`,
  '-drive',
  `id=d0,file=${img},format=raw,if=none`,
];

describe.skipIf(!canRun)('virtio test guests under QEMU microvm', () => {
  let g: Record<string, string> = {};
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-virtio-qemu-'));
    g = await buildGuests();
  }, 300_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('blk-pattern writes, flushes and reads back the pattern; the image holds it', async () => {
    const img = disk(Buffer.alloc(1 << 20));
    const r = await runQemu(g['blk-pattern']!, blkDevice(img, ',serial=vmm-disk-7'));
    expectBlkPattern(r.out, img, 'vmm-disk-7');
    expect(r.code).toBe(0);
  });

  it('blk-read hashes what the host wrote; a read-only drive refuses the write with IOERR', async () => {
    const bytes = crypto.randomBytes(64 * 1024);
    const img = disk(bytes);
    const r = await runQemu(g['blk-read']!, [
      '-device',
      'virtio-blk-device,drive=d0',
      '-drive',
      `id=d0,file=${img},format=raw,if=none,readonly=on`,
    ]);
    expectBlkReadOnly(r.out, img, bytes);
  });

  it('virtio-rng returns 64 bytes that are not all zero', async () => {
    const r = await runQemu(g['virtio-rng']!, ['-device', 'virtio-rng-device']);
    expectRng(r.out);
  });

  it('virtio-console port 0 carries the guest line to the host', async () => {
    const hvc = path.join(work, 'hvc0.out');
    const r = await runQemu(g['virtio-console']!, [
      '-chardev',
      `file,id=hvc0,path=${hvc}`,
      '-device',
      'virtio-serial-device',
      '-device',
      'virtconsole,chardev=hvc0',
    ]);
    expectConsole(r.out, hvc);
  });

  it('blk-bench prints every phase with its byte and request counts, one interrupt per request', async () => {
    const mib = 4;
    const rand = 50;
    const img = disk(Buffer.alloc(mib << 20));
    const r = await runQemu(
      g['blk-bench']!,
      blkDevice(img, ''),
      `${CMDLINE} bench.mib=${mib} bench.passes=2 bench.rand=${rand}`,
    );
    const o = parseVirtioOutput(r.out);
    expect(o.errors).toEqual([]);
    expect(o.done).toBe(true);
    expect(o.benchBegun).toEqual(['seq-write', 'seq-read', 'rand-read']);
    expect(o.benchEnded).toEqual([
      { phase: 'seq-write', bytes: mib << 20, ops: mib },
      { phase: 'seq-read', bytes: 2 * (mib << 20), ops: 2 * mib },
      { phase: 'rand-read', bytes: rand * 4096, ops: rand },
    ]);
    // get_id, the writes, FLUSH, the reads: at most one interrupt each (two edges that arrive while
    // the guest is not waiting merge into one pending interrupt).
    expect(o.irqs).toBeGreaterThan(0);
    expect(o.irqs).toBeLessThanOrEqual(1 + mib + 1 + 2 * mib + rand);
  });

  it('a device whose interrupt never arrives ends the guest with VIRTQ-TIMEOUT, not a hang', async () => {
    // Every transport announced on GSI 3 (nothing there): the real line stays unrouted (masked).
    const img = disk(Buffer.alloc(1 << 20));
    const t0 = Date.now();
    const r = await runQemu(g['blk-pattern']!, blkDevice(img, ''), transports(3));
    const o = parseVirtioOutput(r.out);
    expect(o.timeout).toBe(true);
    expect(o.errors.length).toBeGreaterThan(0);
    expect(o.done).toBe(false);
    expect(r.out).toContain('POWEROFF S5');
    expect(Date.now() - t0).toBeLessThan(RUN_TIMEOUT_MS);
  }, 120_000);
});
