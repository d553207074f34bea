// Tier 1: ext4 images built with mkfs.ext4 -d and read back with debugfs (real e2fsprogs, no VM).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskImageError } from './errors';
import { buildExt4Image, checkExt4, readExt4File } from './ext4';

const hasE2fsprogs = spawnSync('mkfs.ext4', ['-V']).status === 0;
if (!hasE2fsprogs) console.warn("SKIP (no mkfs.ext4: install Debian's e2fsprogs): ext4 image tests");

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!hasE2fsprogs)('ext4 images (mkfs.ext4 -d, debugfs, e2fsck)', () => {
  let work = '';
  let image = '';
  const payload = randomBytes(300_000); // spans several 4 KiB blocks and an extent
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-ext4-'));
    const tree = path.join(work, 'tree');
    fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'sub', 'payload.bin'), payload);
    fs.writeFileSync(path.join(tree, 'hello.txt'), 'hello ext4\n');
    image = path.join(work, 'fs.img');
    await buildExt4Image({ from: tree, image, sizeBytes: 8 * 2 ** 20 });
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('builds an image of the asked size that e2fsck -fn finds clean', async () => {
    expect(fs.statSync(image).size).toBe(8 * 2 ** 20);
    const check = await checkExt4(image);
    expect(check.clean, check.output).toBe(true);
    expect(check.output).toMatch(/Pass 5/);
  });

  it('reads back every file put in with the same bytes (sha256)', async () => {
    expect(sha256(await readExt4File(image, '/sub/payload.bin'))).toBe(sha256(payload));
    expect((await readExt4File(image, '/hello.txt')).toString()).toBe('hello ext4\n');
  });

  it('a missing file is an ENOENT DiskImageError naming it', async () => {
    const e = await readExt4File(image, '/nope').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DiskImageError);
    expect((e as DiskImageError).code).toBe('ENOENT');
    expect((e as DiskImageError).message).toMatch(/\/nope.*not found/);
  });

  it('refuses paths debugfs would misparse, sizes mkfs would round, and a missing source', async () => {
    await expect(readExt4File(image, '/a b')).rejects.toMatchObject({ code: 'EPATH' });
    await expect(readExt4File(image, 'relative')).rejects.toMatchObject({ code: 'EPATH' });
    const tree = path.join(work, 'tree');
    await expect(
      buildExt4Image({ from: tree, image: path.join(work, 'x.img'), sizeBytes: 2 ** 20 + 512 }),
    ).rejects.toMatchObject({ code: 'ESIZE' });
    await expect(
      buildExt4Image({ from: path.join(work, 'none'), image: path.join(work, 'x.img'), sizeBytes: 2 ** 20 }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('e2fsck -fn reports a damaged image as not clean, and leaves it unchanged', async () => {
    const bad = path.join(work, 'bad.img');
    fs.copyFileSync(image, bad);
    // Zero block group 0's descriptor table (block 1 with 4 KiB blocks): the checker must object.
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 4096);
    fs.closeSync(fd);
    const before = sha256(fs.readFileSync(bad));
    const check = await checkExt4(bad);
    expect(check.clean).toBe(false);
    expect(check.status).not.toBe(0);
    expect(sha256(fs.readFileSync(bad))).toBe(before);
  });
});
