// The ext4 round trip (ext4-guest.ts) with the test kernel and initramfs under QEMU microvm, the
// reference monitor, under TCG (qemuLinuxAccel): the guest mounts an image built by mkfs.ext4 -d,
// checks the host's file, writes its own with dd, syncs, unmounts and powers off; the host reads
// the new file with debugfs and e2fsck -fn finds the image clean. This proves the script, the
// image builder and the reader here; packages/vmm/test/linux/linux-devices.test.ts runs the same
// under `vmm run`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInitramfs } from '../initramfs/build';
import { READY_MARKER } from '../initramfs/files';
import { buildKernel, KERNEL_TARBALL } from '../kernel/build';
import { guestCmdline, hostTscKhz } from '../kernel/cmdline';
import { ConsoleSession } from '../kernel/console-session';
import { QEMU, hasQemu, qemuLinuxAccel } from '../qemu-host.test-support';
import { expectExt4Image, expectExt4ScriptLines } from './ext4-checks.test-support';
import { EXT4_SCRIPT_DONE, buildExt4GuestDisk, ext4GuestScript } from './ext4-guest';

const hasSource = fs.existsSync(KERNEL_TARBALL);
const hasMkfs = fs.existsSync('/sbin/mkfs.ext4') || fs.existsSync('/usr/sbin/mkfs.ext4');
const canRun = hasQemu && hasSource && hasMkfs;
if (!canRun) {
  const missing = !hasQemu ? QEMU : !hasSource ? KERNEL_TARBALL : 'mkfs.ext4 (e2fsprogs)';
  console.warn(`SKIP (no ${missing}): the ext4 round trip under QEMU`);
}
const BOOT_MS = 90_000;
const SCRIPT_MS = 60_000;

describe.skipIf(!canRun)('ext4 round trip in the test kernel under QEMU microvm', () => {
  let work = '';
  let kernel = '';
  let initrd = '';
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-ext4-qemu-'));
    kernel = (await buildKernel()).vmlinux;
    initrd = await buildInitramfs();
  }, 60 * 60_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it(
    'mounts the mkfs.ext4 -d image, reads the host file, writes and syncs one the host reads back with debugfs',
    async () => {
      const image = await buildExt4GuestDisk(work);
      const qemu = spawn(
        QEMU,
        [
          ...qemuLinuxAccel,
          ['-M', 'microvm,acpi=on', '-m', '256M', '-nographic', '-no-reboot', '-nodefaults'],
          ['-serial', 'stdio', '-device', 'virtio-blk-device,drive=d0'],
          ['-drive', `id=d0,file=${image},format=raw,if=none`],
          ['-kernel', kernel, '-initrd', initrd, '-append', guestCmdline({ tscKhz: hostTscKhz() })],
        ].flat(),
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stderr = '';
      qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => qemu.on('exit', (code) => r(code)));
      const serial = new ConsoleSession(qemu.stdout, qemu.stdin);
      try {
        await serial.waitFor(new RegExp(READY_MARKER), BOOT_MS);
        const from = serial.output.length;
        serial.send(ext4GuestScript());
        await serial.waitFor(EXT4_SCRIPT_DONE, SCRIPT_MS);
        expectExt4ScriptLines(serial.output.slice(from));
        serial.send('poweroff -f\n');
        expect(await exited, stderr).toBe(0);
        await expectExt4Image(image);
        expect(serial.output).not.toMatch(/Kernel panic|BUG:|Oops|WARNING:|EXT4-fs error/);
      } finally {
        if (qemu.exitCode === null) qemu.kill('SIGKILL');
      }
    },
    10 * 60_000,
  );
});
