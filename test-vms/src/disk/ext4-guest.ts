// The ext4 round trip a Linux test guest makes, one definition for every monitor that runs it
// (QEMU: ext4-qemu.test.ts; `vmm run` on KVM: packages/vmm/test/linux/linux-devices.test.ts).
// The host builds an ext4 image holding HOST_FILE; the guest mounts /dev/vda, checks HOST_FILE's
// sha256, writes GUEST_FILE = HOST_FILE with each byte pair swapped (`dd bs=1M conv=swab`: one
// read, one write: every system call is slow under emulation), syncs and unmounts; the host reads
// GUEST_FILE back with debugfs.
import fs from 'node:fs';
import path from 'node:path';
import { buildExt4Image } from './ext4';
import { sha256Hex } from './flush-wait';

/** The file the host puts in the image, and the one the guest writes (paths in the file system). */
export const HOST_FILE = '/host.bin';
export const GUEST_FILE = '/guest.bin';
export const HOST_FILE_BYTES = 1 << 20;
export const EXT4_IMAGE_BYTES = 32 << 20;

/** HOST_FILE's bytes: little-endian 32-bit word i = i * 2654435761 (no two neighbours alike). */
export function hostFilePayload(): Buffer {
  const b = Buffer.alloc(HOST_FILE_BYTES);
  for (let i = 0; i < HOST_FILE_BYTES / 4; i++) b.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i * 4);
  return b;
}

/** What `dd conv=swab` makes of b: each pair of bytes swapped. */
export function swab(b: Buffer): Buffer {
  return Buffer.from(b).swap16();
}

/** Builds the guest's disk under `dir` (an ext4 image holding HOST_FILE); returns its path. */
export async function buildExt4GuestDisk(dir: string): Promise<string> {
  const tree = path.join(dir, 'ext4-tree');
  fs.mkdirSync(tree, { recursive: true });
  fs.writeFileSync(path.join(tree, HOST_FILE.slice(1)), hostFilePayload());
  const image = path.join(dir, 'ext4.img');
  await buildExt4Image({ from: tree, image, sizeBytes: EXT4_IMAGE_BYTES });
  return image;
}

/** Printed by the guest when the script has run to its end. */
export const EXT4_SCRIPT_DONE = /EXT4-SCRIPT-DONE/;

/**
 * The shell commands the guest runs (typed on its console after VMM-READY), each ending in a
 * short status line: the host compares the sha256 through the guest's own `[ = ]`, so no long
 * line has to cross a UART intact. The console echoes what is typed: `""` inside each marker keeps
 * the typed command from matching the patterns in ext4-checks.test-support.ts.
 */
export function ext4GuestScript(): string {
  const hostSha = sha256Hex(hostFilePayload());
  return [
    'mkdir -p /mnt; mount -t ext4 /dev/vda /mnt; echo MOUNT""=$(grep -c "^/dev/vda /mnt ext4 rw" /proc/mounts)',
    `h=$(sha256sum /mnt${HOST_FILE} | cut -c1-64); [ "$h" = "${hostSha}" ] && echo HOST-SHA""=ok || echo HOST-SHA""=bad:$h`,
    `dd if=/mnt${HOST_FILE} of=/mnt${GUEST_FILE} bs=1M conv=swab 2>/dev/null; echo DD""=$?`,
    'sync; echo SYNC""=$?',
    'umount /mnt; echo UMOUNT""=$?',
    'echo EXT4-SCRIPT""-DONE',
    '',
  ].join('\n');
}
