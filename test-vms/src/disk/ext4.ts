// ext4 disk images for the Linux-guest tests, made and read with e2fsprogs (Debian's package,
// installed by tools/setup/system-deps.sh): `mkfs.ext4 -d DIR` builds an image from a directory,
// `debugfs` reads a file back out of an image without mounting it, `e2fsck -fn` checks it
// read-only.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DiskImageError } from './errors';

const run = promisify(execFile);

/** ext4 block size of every image we build (the brief's `-b 4096`). */
export const EXT4_BLOCK_SIZE = 4096;

export interface Ext4ImageOptions {
  /** Directory whose tree becomes the file system's root (mkfs.ext4 -d). */
  from: string;
  /** Image file to create (replaced if it exists). */
  image: string;
  /** Image size in bytes: a multiple of EXT4_BLOCK_SIZE, at least 1 MiB. */
  sizeBytes: number;
}

/** Runs an e2fsprogs tool; a missing tool or a failure becomes a DiskImageError with its output. */
async function e2fs(
  tool: string,
  args: readonly string[],
  code: 'EMKFS' | 'EDEBUGFS' | 'EFSCK',
): Promise<{ stdout: string; stderr: string; status: number }> {
  try {
    const r = await run(tool, [...args], { maxBuffer: 16 * 2 ** 20 });
    return { stdout: r.stdout, stderr: r.stderr, status: 0 };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string; code?: unknown };
    if (err.code === 'ENOENT') {
      throw new DiskImageError(
        'ETOOL',
        `${tool} was not found: install Debian's e2fsprogs (tools/setup/system-deps.sh does)`,
        { cause: e },
      );
    }
    if (typeof err.code === 'number' && code === 'EFSCK') {
      return { stdout: err.stdout ?? '', stderr: err.stderr ?? '', status: err.code };
    }
    throw new DiskImageError(code, `${tool} ${args.join(' ')} failed:\n${err.stderr ?? err.message}`, {
      cause: e,
    });
  }
}

/**
 * Builds an ext4 image of `sizeBytes` holding the tree under `from`:
 * `mkfs.ext4 -q -F -d FROM -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 IMAGE SIZEk`.
 * The inode tables and the journal are zeroed here, on the host, so the guest kernel has no
 * lazy initialisation to run in the background (slow emulated work on a software-emulated KVM).
 */
export async function buildExt4Image(opts: Ext4ImageOptions): Promise<void> {
  const { from, image, sizeBytes } = opts;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 2 ** 20 || sizeBytes % EXT4_BLOCK_SIZE !== 0) {
    throw new DiskImageError(
      'ESIZE',
      `ext4 image size ${sizeBytes} is not a multiple of ${EXT4_BLOCK_SIZE} of at least 1 MiB: pick another size`,
    );
  }
  if (!fs.statSync(from, { throwIfNoEntry: false })?.isDirectory()) {
    throw new DiskImageError('ENOENT', `ext4 image source ${from} is not a directory: create it first`);
  }
  fs.rmSync(image, { force: true });
  await e2fs(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-d',
      from,
      '-b',
      String(EXT4_BLOCK_SIZE),
      '-E',
      'lazy_itable_init=0,lazy_journal_init=0',
      image,
      `${sizeBytes / 1024}k`,
    ],
    'EMKFS',
  );
}

/** An absolute path debugfs can take unquoted: no whitespace, quotes or control characters. */
function checkGuestPath(p: string): void {
  const control = [...p].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!p.startsWith('/') || control || /[\s"'\\]/.test(p)) {
    throw new DiskImageError(
      'EPATH',
      `${JSON.stringify(p)} is not an absolute path without spaces, quotes or control characters: debugfs cannot take it`,
    );
  }
}

/** The bytes of the regular file `guestPath` inside an ext4 image (debugfs `dump -p`). */
export async function readExt4File(image: string, guestPath: string): Promise<Buffer> {
  checkGuestPath(guestPath);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-debugfs-'));
  const out = path.join(tmp, 'file');
  try {
    // debugfs exits 0 even when the file is missing: its message is on stderr, no output file.
    const r = await e2fs('debugfs', ['-R', `dump -p ${guestPath} ${out}`, image], 'EDEBUGFS');
    if (!fs.existsSync(out)) {
      const why = r.stderr.replace(/^debugfs [^\n]*\n/, '').trim() || 'debugfs wrote nothing';
      throw new DiskImageError('ENOENT', `${guestPath} could not be read from ${image}: ${why}`);
    }
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface Ext4CheckResult {
  /** e2fsck's exit status: 0 means no errors. */
  status: number;
  clean: boolean;
  /** What e2fsck printed (for a failing assertion's message). */
  output: string;
}

/** `e2fsck -fn IMAGE`: a forced, read-only check; the image is not changed. */
export async function checkExt4(image: string): Promise<Ext4CheckResult> {
  const r = await e2fs('e2fsck', ['-fn', image], 'EFSCK');
  return { status: r.status, clean: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
