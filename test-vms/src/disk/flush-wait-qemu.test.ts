// blk-flush-wait (guests/virtio/blk-flush-wait.c) under QEMU microvm, the reference monitor, in
// the style of guests/virtio-qemu.test.ts: the guest writes its pattern, FLUSHes, prints the
// FLUSH's status and halts without powering off; the test kills QEMU with SIGKILL the moment the
// line appears and finds the pattern in the image. A second run under strace checks, with the
// same code packages/vmm/test/kvm/blk-durability.test.ts uses on `vmm run`, that QEMU's fdatasync
// of the image returned before the guest printed the FLUSH status. This proves the guest and the
// trace check here (TCG; KVM where usable).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../guests/build';
import { parseVirtioOutput } from '../guests/virtio-output';
import { QEMU, hasGcc, hasQemu, qemuAccel } from '../qemu-host.test-support';
import { FLUSH_DONE_LINE, flushWaitImage, sha256Hex } from './flush-wait';
import { expectSyncedBeforeFlushLine } from './flush-wait-checks.test-support';
import { hasStrace, parseSyncTrace, straceSyncArgs, traceePid } from './sync-trace';

const canRun = hasQemu && hasGcc;
if (!canRun) console.warn(`SKIP (no ${hasQemu ? 'gcc' : QEMU}): blk-flush-wait under QEMU`);
if (canRun && !hasStrace)
  console.warn("SKIP (no strace: install Debian's strace): blk-flush-wait's trace check");

/**
 * QEMU microvm's virtio-mmio transports with acpi=on: 24 of 512 bytes from 0xfeb00000 on GSI 24
 * up (hw/i386/microvm.c; the same list as guests/virtio-qemu.test.ts, which explains it).
 */
const CMDLINE = Array.from(
  { length: 24 },
  (_, i) => `virtio_mmio.device=512@0x${(0xfeb00000 + i * 512).toString(16)}:${24 + i}`,
).join(' ');
const IMAGE_BYTES = 1 << 20;
const WAIT_MS = 30_000;

describe.skipIf(!canRun)('blk-flush-wait under QEMU microvm', () => {
  let work = '';
  let elf = '';
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-flush-qemu-'));
    elf = (await buildGuests())['blk-flush-wait']!;
  }, 300_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /**
   * Runs the guest on a zeroed image (under strace when `straceLog` is given) until the FLUSH line
   * is on COM1, then SIGKILLs QEMU at once. COM1 goes to a regular file: QEMU drops bytes on
   * Node's pipes (see guests/qemu.test.ts).
   */
  async function runAndKill(straceLog?: string) {
    const img = path.join(work, `disk-${Date.now()}.img`);
    fs.writeFileSync(img, Buffer.alloc(IMAGE_BYTES));
    const com1 = path.join(work, `com1-${Date.now()}.out`);
    const fd = fs.openSync(com1, 'w');
    const qemuArgs = [
      ['-M', 'microvm,acpi=on,auto-kernel-cmdline=off', ...qemuAccel],
      ['-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot'],
      ['-m', '128M', '-global', 'virtio-mmio.force-legacy=false'],
      ['-device', 'virtio-blk-device,drive=d0', '-drive', `id=d0,file=${img},format=raw,if=none`],
      ['-kernel', elf, '-append', CMDLINE],
    ].flat();
    const child = straceLog
      ? spawn('strace', [...straceSyncArgs(straceLog), '--', QEMU, ...qemuArgs], {
          stdio: ['ignore', fd, 'inherit'],
        })
      : spawn(QEMU, qemuArgs, { stdio: ['ignore', fd, 'inherit'] });
    fs.closeSync(fd);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    const qemuPid = () => (straceLog ? traceePid(child.pid!) : child.pid);
    try {
      const deadline = Date.now() + WAIT_MS;
      let out = '';
      while (!FLUSH_DONE_LINE.test(out) && child.exitCode === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        out = fs.readFileSync(com1, 'latin1');
      }
      const pid = qemuPid();
      expect(pid, 'QEMU still running').toBeDefined();
      process.kill(pid!, 'SIGKILL'); // at once: no orderly shutdown may write anything for the guest
      const signal = await exited;
      return { img, com1, signal, out: fs.readFileSync(com1, 'latin1') };
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const pid = qemuPid();
        if (pid !== undefined && pid !== child.pid) process.kill(pid, 'SIGKILL');
        child.kill('SIGKILL');
      }
    }
  }

  it('prints the FLUSH status, stays up without powering off, and the image holds the pattern after SIGKILL', async () => {
    const r = await runAndKill();
    expect(r.signal).toBe('SIGKILL'); // it was still running: the guest did not power off
    expect(r.out).toMatch(FLUSH_DONE_LINE);
    expect(FLUSH_DONE_LINE.exec(r.out)![1]).toBe('0');
    const o = parseVirtioOutput(r.out);
    expect(o.errors).toEqual([]);
    expect(o.done).toBe(false);
    expect(r.out).not.toContain('POWEROFF');
    expect(o.statuses.map((s) => [s.op, s.status])).toEqual([
      ['get_id', 0],
      ['write', 0],
      ['flush', 0],
    ]);
    expect(sha256Hex(fs.readFileSync(r.img))).toBe(sha256Hex(flushWaitImage(IMAGE_BYTES)));
  });

  it.skipIf(!hasStrace)(
    'under strace: fdatasync of the image returned 0 after the write and before the guest printed the FLUSH status',
    async () => {
      const log = path.join(work, 'strace.log');
      const r = await runAndKill(log);
      expect(r.out).toMatch(FLUSH_DONE_LINE);
      expect(sha256Hex(fs.readFileSync(r.img))).toBe(sha256Hex(flushWaitImage(IMAGE_BYTES)));
      // QEMU writes COM1 to the file (`-serial stdio` with stdout on it): any fd on that path.
      const t = parseSyncTrace(
        fs.readFileSync(log, 'utf8'),
        fs.realpathSync(r.img),
        `<${fs.realpathSync(r.com1)}>`,
      );
      expectSyncedBeforeFlushLine(t, log);
    },
  );
});
