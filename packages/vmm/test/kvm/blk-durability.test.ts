// Tier 2, issue 9: "data the guest flushed survives SIGKILL of the monitor right after the flush
// completes". The guest blk-flush-wait (test-vms/guests/virtio/blk-flush-wait.c) writes 64 KiB of a
// known pattern, FLUSHes, prints the FLUSH's status the moment it completes and halts forever
// without powering off; the test SIGKILLs `vmm run` as soon as that line arrives and compares the
// image with the pattern (sha256). The same guest runs under QEMU in
// test-vms/src/disk/flush-wait-qemu.test.ts.
//
// What this shows, and what it does not. The kernel's page cache outlives a killed process, so the
// bytes in the image after SIGKILL do not show that they reached the disk itself. They show that
// by the time the guest saw its FLUSH complete, the monitor had already handed every byte of the
// write to the kernel: nothing was still held in the monitor's own buffers or queued in its
// thread pool, which a SIGKILL would have lost (a monitor that completed a FLUSH before its writes
// landed, or buffered writes in userspace, fails here). That the data was also made durable
// against a host crash is shown by the second test: run under strace, the monitor's fdatasync of
// the image returns 0 after all 64 KiB were written to it and before the first byte of the
// guest's FLUSH status line reaches the console. A host power cut itself is not simulated.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUSH_DONE_LINE, flushWaitImage, sha256Hex } from '../../../../test-vms/src/disk/flush-wait';
import { expectSyncedBeforeFlushLine } from '../../../../test-vms/src/disk/flush-wait-checks.test-support';
import {
  fdToken,
  hasStrace,
  parseSyncTrace,
  straceSyncArgs,
  traceePid,
} from '../../../../test-vms/src/disk/sync-trace';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { ConsoleProcess, vmmCommand } from '../support/console-process';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: flush durability under SIGKILL on /dev/kvm');
if (canRun && !hasStrace) {
  console.warn(
    "SKIP (no strace: install Debian's strace): the fdatasync-order half of the flush durability test",
  );
}
const IMAGE_BYTES = 1 << 20;
const FLUSH_MS = 60_000;

describe.skipIf(!canRun)('flushed data survives SIGKILL of vmm run', () => {
  let elf = '';
  let work = '';
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-blk-durability-'));
    elf = (await buildGuests())['blk-flush-wait']!;
  }, 300_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const vmmArgs = (img: string) => [
    'run',
    '--kernel',
    elf,
    '--memory',
    'size=128M',
    '--serial',
    'tty',
    '--disk',
    `path=${img}`,
  ];
  const zeroedImage = (): string => {
    const p = path.join(work, `disk-${crypto.randomBytes(4).toString('hex')}.img`);
    fs.writeFileSync(p, Buffer.alloc(IMAGE_BYTES));
    return p;
  };
  const expectFlushOk = (m: RegExpExecArray, p: ConsoleProcess) => expect(m[1], p.out).toBe('0');

  it(
    'the image holds the pattern after SIGKILL at the moment the FLUSH completed',
    async () => {
      const img = zeroedImage();
      const p = new ConsoleProcess([...vmmCommand, ...vmmArgs(img)]);
      try {
        const m = await p.waitFor(FLUSH_DONE_LINE, FLUSH_MS);
        p.kill(); // at once: from here on the monitor runs no code of its own
        expect((await p.exited).signal).toBe('SIGKILL'); // still running: the guest did not power off
        expectFlushOk(m, p);
        expect(sha256Hex(fs.readFileSync(img))).toBe(sha256Hex(flushWaitImage(IMAGE_BYTES)));
      } finally {
        p.kill();
      }
    },
    FLUSH_MS * 2,
  );

  it.skipIf(!hasStrace)(
    'under strace: fdatasync of the image returned 0 after the write and before the guest printed the FLUSH status',
    async () => {
      const img = zeroedImage();
      const log = path.join(work, 'strace.log');
      // strace runs `vmm run` as its child; the console bytes pass through to us unchanged.
      const p = new ConsoleProcess(['strace', ...straceSyncArgs(log), '--', ...vmmCommand, ...vmmArgs(img)]);
      try {
        const m = await p.waitFor(FLUSH_DONE_LINE, FLUSH_MS * 2);
        const pid = traceePid(p.child.pid!);
        expect(pid, 'the vmm process under strace').toBeDefined();
        const consoleFd = fdToken(pid!, 1); // its stdout pipe, as strace -y names it
        process.kill(pid!, 'SIGKILL'); // the monitor, not strace: strace then ends by itself
        await p.exited;
        expectFlushOk(m, p);
        expect(sha256Hex(fs.readFileSync(img))).toBe(sha256Hex(flushWaitImage(IMAGE_BYTES)));

        const t = parseSyncTrace(fs.readFileSync(log, 'utf8'), fs.realpathSync(img), consoleFd);
        expectSyncedBeforeFlushLine(t, log);
      } finally {
        // On a failure before the kill above: the monitor first (a killed strace would leave its
        // tracee running: strace 6.1 has no --kill-on-exit), then strace.
        const running = p.child.exitCode === null && p.child.signalCode === null;
        const left = running ? traceePid(p.child.pid!) : undefined;
        if (left !== undefined) process.kill(left, 'SIGKILL');
        p.kill();
      }
    },
    FLUSH_MS * 3,
  );
});
