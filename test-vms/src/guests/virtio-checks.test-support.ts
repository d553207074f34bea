// What each virtio test guest must print and leave behind, checked the same way whichever monitor
// ran it (QEMU microvm here, `vmm run` on a KVM host): one set of expectations for both.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { expect } from 'vitest';
import {
  BLK_PATTERN_BYTES,
  BLK_PATTERN_SECTOR,
  BLK_READ_BYTES,
  blkPattern,
  parseVirtioOutput,
  type VirtioGuestOutput,
} from './virtio-output';

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * A guest's parsed output, with no error lines and DONE printed, having taken at least one device
 * interrupt (the guests wait for completions in `sti; hlt`, woken by the interrupt).
 */
function finished(out: string): VirtioGuestOutput {
  const o = parseVirtioOutput(out);
  expect(o.errors).toEqual([]);
  expect(o.done).toBe(true);
  expect(o.irqs).toBeGreaterThan(0);
  return o;
}

/** blk-pattern on a 1 MiB image with `serial`: statuses, the hash, and the pattern in the image. */
export function expectBlkPattern(out: string, image: string, serial: string): void {
  const o = finished(out);
  expect(o.capacity).toBe(2048);
  expect(o.serial).toBe(serial);
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
      .readFileSync(image)
      .subarray(start, start + BLK_PATTERN_BYTES)
      .equals(pattern),
  ).toBe(true);
}

/** blk-read on a read-only image holding `bytes` (64 KiB): the hash, IOERR for the write, image unchanged. */
export function expectBlkReadOnly(out: string, image: string, bytes: Buffer): void {
  const o = finished(out);
  expect(o.capacity).toBe(128);
  expect(o.sha256).toBe(sha256(bytes.subarray(0, BLK_READ_BYTES)));
  expect(o.statuses.find((s) => s.op === 'read')?.status).toBe(0);
  expect(o.statuses.find((s) => s.op === 'write')?.status).toBe(1); // VIRTIO_BLK_S_IOERR
  expect(fs.readFileSync(image).equals(bytes)).toBe(true);
}

/** virtio-rng: 64 bytes in hex, not all zero. */
export function expectRng(out: string): void {
  const o = finished(out);
  expect(o.rng).toMatch(/^[0-9a-f]{128}$/);
  expect(o.rngNonZero).toBeGreaterThan(32);
}

/** virtio-console: the guest's line in the hvc0 output file. */
export function expectConsole(out: string, hvcFile: string): void {
  finished(out);
  expect(fs.readFileSync(hvcFile, 'latin1')).toBe('HVC hello from the guest\n');
}

/** console with no output behind the device (Cloud Hypervisor's Null): found, the line taken. */
export function expectConsoleTaken(out: string): void {
  finished(out);
  expect(out).toMatch(/^HVC-STATUS used=0\r?$/m);
}
