// Builds the test initramfs (newc cpio, uncompressed: the guest then needs no decompressor,
// and gzip would save bytes but cost emulated CPU) from Debian's busybox-static, into the cache.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, contentKey, testVmsRoot } from '../cache';
import { writeCpio, type CpioEntry } from '../../../packages/vmm/src/boot/cpio';
import { APPLETS, BUSYBOX, INIT_SCRIPT, UDHCPC_SCRIPT } from './files';

export class InitramfsBuildError extends Error {
  readonly code = 'EINITRAMFS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InitramfsBuildError';
  }
}

/** A fixed timestamp (2024-01-01) so the same inputs give the same archive. */
const MTIME = 1_704_067_200;

/**
 * The static programs in /bin beside busybox, each from one C file, freestanding (no libc):
 * test-vms/kernel/probes/*.c check the kernel patches from userspace; test-vms/initramfs/*.c are
 * tools busybox lacks.
 */
export const PROGRAMS = {
  'syscall-via-fault': path.join(testVmsRoot, 'kernel', 'probes', 'syscall-via-fault.c'),
  xattr: path.join(testVmsRoot, 'initramfs', 'xattr.c'),
} as const;
export type ProgramName = keyof typeof PROGRAMS;

const PROGRAM_CFLAGS = [
  '-O2',
  '-static',
  '-nostdlib',
  '-ffreestanding',
  '-fno-pie',
  '-no-pie',
  '-fno-stack-protector',
  '-fcf-protection=none',
  '-fno-asynchronous-unwind-tables',
  '-s',
  '-Wall',
  '-Wextra',
  '-Werror',
];

/**
 * Builds (when missing) one of PROGRAMS into the cache and returns its path there: static x86-64
 * programs, which the tests also run on the host (the xattr tool's own test does).
 */
export async function buildProgram(name: ProgramName): Promise<string> {
  const source = PROGRAMS[name];
  const out = path.join(cacheDir('initramfs-bin', contentKey([source], PROGRAM_CFLAGS)), name);
  if (fs.existsSync(out)) return out;
  // A private temporary name, then rename: parallel builders never see a partial program (gcc
  // leaves no output when it fails).
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await promisify(execFile)('gcc', [...PROGRAM_CFLAGS, '-o', tmp, source]);
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new InitramfsBuildError(
      `initramfs: gcc could not build ${path.basename(source)} (install Debian's gcc): ${err.stderr ?? err.message}`,
      { cause: e },
    );
  }
  await fs.promises.rename(tmp, out);
  return out;
}

/** The archive's entries, parents before children. */
export function initramfsEntries(
  busybox: Uint8Array,
  programs: Readonly<Record<ProgramName, Uint8Array>>,
): CpioEntry[] {
  const dirs = ['bin', 'dev', 'etc', 'etc/udhcpc', 'proc', 'sys', 'tmp', 'root', 'run', 'mnt', 'usr'];
  const entries: CpioEntry[] = dirs.map((d) => ({
    type: 'dir',
    path: d,
    mode: d === 'tmp' ? 0o1777 : 0o755,
  }));
  // The kernel opens /dev/console for /init's stdio before /init can mount devtmpfs.
  entries.push({ type: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 });
  entries.push({ type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  for (const a of APPLETS) entries.push({ type: 'symlink', path: `bin/${a}`, target: 'busybox' });
  for (const name of Object.keys(PROGRAMS) as ProgramName[]) {
    entries.push({ type: 'file', path: `bin/${name}`, data: programs[name], mode: 0o755 });
  }
  entries.push({ type: 'symlink', path: 'sbin', target: 'bin' });
  entries.push({ type: 'symlink', path: 'usr/bin', target: '../bin' });
  entries.push({ type: 'symlink', path: 'usr/sbin', target: '../bin' });
  entries.push({ type: 'file', path: 'init', data: Buffer.from(INIT_SCRIPT), mode: 0o755 });
  entries.push({
    type: 'file',
    path: 'etc/udhcpc/default.script',
    data: Buffer.from(UDHCPC_SCRIPT),
    mode: 0o755,
  });
  entries.push({ type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') });
  entries.push({ type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\n') });
  return entries;
}

/** Builds (when missing) and returns the path of initramfs.cpio in the cache. */
export async function buildInitramfs(): Promise<string> {
  if (!fs.existsSync(BUSYBOX)) {
    throw new InitramfsBuildError(
      `initramfs: ${BUSYBOX} is missing; install Debian's busybox-static (apt-get install busybox-static)`,
    );
  }
  const sources = [
    ...['build.ts', 'files.ts'].map((f) => path.join(import.meta.dirname, f)),
    path.join(import.meta.dirname, '../../../packages/vmm/src/boot/cpio.ts'),
  ];
  const key = contentKey([BUSYBOX, ...Object.values(PROGRAMS), ...sources], PROGRAM_CFLAGS);
  const dir = cacheDir('initramfs', key);
  const out = path.join(dir, 'initramfs.cpio');
  if (fs.existsSync(out)) return out;
  const programs = {} as Record<ProgramName, Uint8Array>;
  for (const name of Object.keys(PROGRAMS) as ProgramName[]) {
    programs[name] = await fs.promises.readFile(await buildProgram(name));
  }
  const busybox = await fs.promises.readFile(BUSYBOX);
  const archive = writeCpio(initramfsEntries(busybox, programs), { mtime: MTIME });
  // A private temporary name, then rename: parallel builders never see a partial archive.
  const tmp = `${out}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, archive);
  await fs.promises.rename(tmp, out);
  process.stderr.write(`initramfs: ${archive.length} bytes: ${out}\n`);
  return out;
}
