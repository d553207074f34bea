// What the ext4 round trip (ext4-guest.ts) must leave on the console and in the image, checked
// the same way whichever monitor ran the guest.
import { expect } from 'vitest';
import { checkExt4, readExt4File } from './ext4';
import { GUEST_FILE, HOST_FILE, hostFilePayload, swab } from './ext4-guest';
import { sha256Hex } from './flush-wait';

/** The script's status lines in `out` (the console after the script was typed). */
export function expectExt4ScriptLines(out: string): void {
  expect(out).toMatch(/MOUNT=1\r?\n/); // /dev/vda mounted on /mnt as ext4, read-write
  expect(out).toMatch(/HOST-SHA=ok\r?\n/); // the guest read the host's file intact
  expect(out).toMatch(/DD=0\r?\n/);
  expect(out).toMatch(/SYNC=0\r?\n/);
  expect(out).toMatch(/UMOUNT=0\r?\n/);
}

/** After the guest powered off: GUEST_FILE read back by debugfs, HOST_FILE unchanged, e2fsck clean. */
export async function expectExt4Image(image: string): Promise<void> {
  const payload = hostFilePayload();
  const wrote = await readExt4File(image, GUEST_FILE);
  expect(wrote.length).toBe(payload.length);
  expect(sha256Hex(wrote)).toBe(sha256Hex(swab(payload)));
  expect(sha256Hex(await readExt4File(image, HOST_FILE))).toBe(sha256Hex(payload));
  const check = await checkExt4(image);
  expect(check.clean, check.output).toBe(true);
}
