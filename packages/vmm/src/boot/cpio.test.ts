import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpioError, writeCpio, type CpioEntry } from './cpio';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('SKIP (not root): cpio device-node extraction needs mknod');

const MTIME = 1_700_000_000;
const bigData = Buffer.alloc(70_001, 0);
for (let i = 0; i < bigData.length; i++) bigData[i] = (i * 31 + 7) & 0xff;

const entries: CpioEntry[] = [
  { type: 'dir', path: '/bin' },
  { type: 'dir', path: 'etc', mode: 0o700 },
  { type: 'dir', path: 'etc/deep' },
  { type: 'file', path: 'bin/tool', data: bigData, mode: 0o755 },
  { type: 'file', path: 'etc/deep/a', data: Buffer.from('x'), mode: 0o640 },
  { type: 'file', path: 'etc/ab', data: Buffer.from('ab') },
  { type: 'file', path: 'etc/abc', data: Buffer.from('abc'), mode: 0o4755 },
  { type: 'file', path: 'etc/empty', data: new Uint8Array(0), mode: 0o600 },
  { type: 'symlink', path: 'bin/sh', target: 'tool' },
  { type: 'symlink', path: 'sbin', target: '/bin' },
  ...(isRoot
    ? ([
        { type: 'dir', path: 'dev' },
        { type: 'char', path: 'dev/console', major: 5, minor: 1 },
        { type: 'block', path: 'dev/vda', major: 254, minor: 300, mode: 0o660 },
      ] as CpioEntry[])
    : []),
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-cpio-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** major()/minor() of a Linux dev_t (glibc's encoding, <sys/sysmacros.h>). */
function majorMinor(rdev: number): [number, number] {
  const d = BigInt(rdev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return [major, minor];
}

describe('newc cpio writer', () => {
  const archive = writeCpio(entries, { mtime: MTIME });
  const file = path.join(tmp, 'test.cpio');
  fs.writeFileSync(file, archive);

  it('is padded to 4 bytes and ends with the trailer', () => {
    expect(archive.length % 4).toBe(0);
    expect(archive.subarray(0, 6).toString('ascii')).toBe('070701');
    expect(archive.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
  });

  it('lists with cpio -t in order', () => {
    const out = execFileSync('cpio', ['-t', '--quiet', '-F', file], { encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(entries.map((e) => e.path.replace(/^\/+/, '')));
  });

  it('extracts with cpio -idm to the same files, modes, symlinks and devices', () => {
    const dest = path.join(tmp, 'out');
    fs.mkdirSync(dest);
    execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', file], { cwd: dest });
    for (const e of entries) {
      const p = path.join(dest, e.path);
      const st = fs.lstatSync(p);
      switch (e.type) {
        case 'dir':
          expect(st.isDirectory(), e.path).toBe(true);
          expect(st.mode & 0o7777, e.path).toBe(e.mode ?? 0o755);
          break;
        case 'file':
          expect(st.isFile(), e.path).toBe(true);
          expect(st.mode & 0o7777, e.path).toBe(e.mode ?? 0o644);
          expect(Buffer.compare(fs.readFileSync(p), Buffer.from(e.data)), e.path).toBe(0);
          expect(Math.trunc(st.mtimeMs / 1000), e.path).toBe(MTIME);
          break;
        case 'symlink':
          expect(st.isSymbolicLink(), e.path).toBe(true);
          expect(fs.readlinkSync(p)).toBe(e.target);
          break;
        case 'char':
        case 'block':
          expect(e.type === 'char' ? st.isCharacterDevice() : st.isBlockDevice(), e.path).toBe(true);
          expect(majorMinor(st.rdev), e.path).toEqual([e.major, e.minor]);
          expect(st.mode & 0o7777, e.path).toBe(e.mode ?? 0o600);
          break;
      }
    }
  });

  it('rejects what newc cannot hold', () => {
    expect(() => writeCpio([{ type: 'dir', path: '/' }])).toThrow(CpioError);
    expect(() => writeCpio([{ type: 'file', path: 'f', data: new Uint8Array(1), mode: 0o10000 }])).toThrow(
      CpioError,
    );
    expect(() => writeCpio([{ type: 'char', path: 'c', major: -1, minor: 0 }])).toThrow(CpioError);
    expect(() => writeCpio([{ type: 'symlink', path: 'l', target: '' }])).toThrow(CpioError);
    expect(() => writeCpio([{ type: 'dir', path: 'TRAILER!!!' }])).toThrow(CpioError);
  });
});
