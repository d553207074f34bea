// Tier 4, issue 9: the minimal Linux guest under `vmm run` mounts an ext4 image built by test-vms
// (`mkfs.ext4 -d`), checks the sha256 of a file the host put there, writes a new file with one
// large dd (bs=1M: every system call is slow under emulation), syncs, unmounts and powers off;
// the host reads the new file back with debugfs (same sha256 as the content the guest was told to
// write) and e2fsck -fn finds the image clean. One boot carries every check. The same script runs
// under QEMU in test-vms/src/disk/ext4-qemu.test.ts. Nothing waits a fixed time: on a hardware
// host the whole test takes seconds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectExt4Image,
  expectExt4ScriptLines,
} from '../../../../test-vms/src/disk/ext4-checks.test-support';
import {
  EXT4_SCRIPT_DONE,
  buildExt4GuestDisk,
  ext4GuestScript,
} from '../../../../test-vms/src/disk/ext4-guest';
import { bootLinuxGuest, linuxGuestAssets, type LinuxGuestAssets } from '../support/linux-guest';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 4: Linux guest with an ext4 disk on /dev/kvm');
const BOOT_MS = 240_000;
/** mount, a 1 MiB sha256sum, a 1 MiB dd, sync, umount: ~1-3 s a command under emulation, more for the I/O. */
const SCRIPT_MS = 300_000;

describe.skipIf(!canRun)('Linux guest with an ext4 virtio disk under vmm run', () => {
  let work = '';
  let assets: LinuxGuestAssets;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-linux-ext4-'));
    assets = await linuxGuestAssets();
  }, 1_800_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it(
    'mounts the mkfs.ext4 -d image, reads the host file, writes and syncs one the host reads back with debugfs',
    async () => {
      const image = await buildExt4GuestDisk(work);
      const p = bootLinuxGuest(assets, '--disk', `path=${image}`);
      try {
        await p.waitFor(/VMM-READY/, BOOT_MS);
        const from = p.out.length;
        p.send(ext4GuestScript());
        await p.waitFor(EXT4_SCRIPT_DONE, SCRIPT_MS);
        expectExt4ScriptLines(p.out.slice(from));
        p.send('poweroff -f\n');
        expect((await p.exited).code, p.err).toBe(0);
        // The monitor has exited: every write it took from the guest is in the image file.
        await expectExt4Image(image);
        expect(p.out).not.toMatch(/Kernel panic|BUG:|Oops|WARNING:|EXT4-fs error/);
      } finally {
        p.kill();
      }
    },
    BOOT_MS + SCRIPT_MS + 60_000,
  );
});
