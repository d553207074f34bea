// The virtio-mmio test guests (guests/virtio/) under QEMU microvm, the reference monitor: modern
// (version 2) virtio-mmio transports, COM1 to a file. microvm with acpi=on describes its transports
// only in the DSDT, so we boot with auto-kernel-cmdline=off and name all of them ourselves on the
// command line as `virtio_mmio.device=512@ADDR:GSI` (what our monitor does); the guests probe each
// and take the first with the device ID they want. Runs under TCG here (-enable-kvm where usable).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QEMU, hasGcc, hasQemu, qemuCanUseKvm } from '../qemu-host.test-support';
import { buildGuests } from './build';
import { expectBlkPattern, expectBlkReadOnly, expectConsole, expectRng } from './virtio-checks.test-support';

const canRun = hasQemu && hasGcc;
if (!canRun) console.warn(`SKIP (no ${hasQemu ? 'gcc' : QEMU}): virtio test guests under QEMU`);

/** QEMU microvm's virtio-mmio transports (hw/i386/microvm.c: VIRTIO_MMIO_BASE, 24 of 512 bytes, GSI 5 up). */
const MICROVM_TRANSPORTS = 24;
const MICROVM_VIRTIO_BASE = 0xfeb00000;
const MICROVM_VIRTIO_GSI = 5;
const CMDLINE = Array.from(
  { length: MICROVM_TRANSPORTS },
  (_, i) =>
    `virtio_mmio.device=512@0x${(MICROVM_VIRTIO_BASE + i * 512).toString(16)}:${MICROVM_VIRTIO_GSI + i}`,
).join(' ');
const RUN_TIMEOUT_MS = 30_000;

let work = '';

function runQemu(elf: string, devices: readonly string[]): Promise<{ out: string; code: number | null }> {
  const args = [
    '-M',
    'microvm,acpi=on,auto-kernel-cmdline=off',
    ...(qemuCanUseKvm ? ['-enable-kvm'] : []),
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
    CMDLINE,
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
});
