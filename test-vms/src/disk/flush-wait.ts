// The disk image test-vms/guests/virtio/blk-flush-wait.c leaves behind, and its console lines:
// one definition for every monitor that runs it (QEMU here, `vmm run` on a KVM host).
import { createHash } from 'node:crypto';

/** Where and how much blk-flush-wait writes (its FLUSH_WAIT_SECTOR and FLUSH_WAIT_BYTES). */
export const FLUSH_WAIT_SECTOR = 24;
export const FLUSH_WAIT_BYTES = 65536;

/** The line the guest prints the moment its FLUSH completes (status 0 = VIRTIO_BLK_S_OK). */
export const FLUSH_DONE_LINE = /^BLK-STATUS op=flush sector=0 status=(\d+)\r?\n/m;
/** The line after it: the guest now halts forever without powering off. */
export const FLUSH_WAIT_LINE = /^FLUSH-WAIT\r?$/m;

/** blk-flush-wait's pattern: little-endian 32-bit word i = i * 2654435761 ^ 0x5a5a5a5a. */
export function flushWaitPattern(): Buffer {
  const b = Buffer.alloc(FLUSH_WAIT_BYTES);
  for (let i = 0; i < FLUSH_WAIT_BYTES / 4; i++) {
    b.writeUInt32LE((Math.imul(i, 2654435761) ^ 0x5a5a5a5a) >>> 0, i * 4);
  }
  return b;
}

/** The whole image after the guest ran on a zeroed image of `imageBytes`: zeros and the pattern. */
export function flushWaitImage(imageBytes: number): Buffer {
  const img = Buffer.alloc(imageBytes);
  flushWaitPattern().copy(img, FLUSH_WAIT_SECTOR * 512);
  return img;
}

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
