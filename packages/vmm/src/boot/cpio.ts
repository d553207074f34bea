// A writer for the "newc" cpio format, the one the Linux kernel unpacks as an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst; cpio(5), "New ASCII Format").
// Each entry: a 110-byte ASCII header, the NUL-terminated name, padding to 4 bytes, the data,
// padding to 4 bytes. The archive ends with the entry named TRAILER!!!.

/** File type bits of st_mode (<sys/stat.h>). */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char' | 'block'; path: string; major: number; minor: number; mode?: number };

export interface CpioOptions {
  /** Modification time of every entry, seconds since the epoch (fixed for reproducible archives). */
  mtime?: number;
  uid?: number;
  gid?: number;
}

export class CpioError extends Error {
  readonly code = 'ECPIO';
  constructor(message: string) {
    super(message);
    this.name = 'CpioError';
  }
}

/** newc header: magic "070701" and 13 fields of 8 hex digits (cpio(5)). */
const MAGIC = '070701';
const HEADER_SIZE = 110;
const TRAILER = 'TRAILER!!!';

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  filesize: number;
  rdevmajor: number;
  rdevminor: number;
  namesize: number;
}

function hex8(n: number, field: string, entry: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new CpioError(`cpio: ${field} ${n} of '${entry}' does not fit the newc format (0 to 2^32-1)`);
  }
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(h: Header, o: Required<CpioOptions>, name: string): string {
  return (
    MAGIC +
    hex8(h.ino, 'inode', name) +
    hex8(h.mode, 'mode', name) +
    hex8(o.uid, 'uid', name) +
    hex8(o.gid, 'gid', name) +
    hex8(h.nlink, 'nlink', name) +
    hex8(o.mtime, 'mtime', name) +
    hex8(h.filesize, 'file size', name) +
    hex8(0, 'devmajor', name) +
    hex8(0, 'devminor', name) +
    hex8(h.rdevmajor, 'rdevmajor', name) +
    hex8(h.rdevminor, 'rdevminor', name) +
    hex8(h.namesize, 'name size', name) +
    hex8(0, 'check', name)
  );
}

function permissions(mode: number | undefined, fallback: number, name: string): number {
  const m = mode ?? fallback;
  if (!Number.isInteger(m) || m < 0 || m > 0o7777) {
    throw new CpioError(
      `cpio: mode 0o${m.toString(8)} of '${name}' must hold permission bits only (0 to 0o7777)`,
    );
  }
  return m;
}

function entryName(p: string): string {
  const name = p.replace(/^\/+/, '');
  if (name === '' || name.includes('\0') || name === TRAILER) {
    throw new CpioError(`cpio: '${p}' is not a usable entry name`);
  }
  return name;
}

/** Serialises the entries, in order, into one newc archive (parents must come before children). */
export function writeCpio(entries: readonly CpioEntry[], options: CpioOptions = {}): Buffer {
  const o: Required<CpioOptions> = {
    mtime: options.mtime ?? 0,
    uid: options.uid ?? 0,
    gid: options.gid ?? 0,
  };
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (h: Omit<Header, 'namesize'>, name: string, data: Uint8Array): void => {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const head = Buffer.from(header({ ...h, namesize: nameBytes.length }, o, name), 'ascii');
    parts.push(head, nameBytes, Buffer.alloc(pad4(HEADER_SIZE + nameBytes.length)));
    if (data.length > 0)
      parts.push(Buffer.from(data.buffer, data.byteOffset, data.length), Buffer.alloc(pad4(data.length)));
  };
  const none = new Uint8Array(0);
  for (const e of entries) {
    const name = entryName(e.path);
    const dev = { rdevmajor: 0, rdevminor: 0 };
    switch (e.type) {
      case 'dir':
        push(
          { ino: ino++, mode: S_IFDIR | permissions(e.mode, 0o755, name), nlink: 2, filesize: 0, ...dev },
          name,
          none,
        );
        break;
      case 'file':
        push(
          {
            ino: ino++,
            mode: S_IFREG | permissions(e.mode, 0o644, name),
            nlink: 1,
            filesize: e.data.length,
            ...dev,
          },
          name,
          e.data,
        );
        break;
      case 'symlink': {
        const target = Buffer.from(e.target, 'utf8');
        if (target.length === 0) throw new CpioError(`cpio: symlink '${name}' has an empty target`);
        push({ ino: ino++, mode: S_IFLNK | 0o777, nlink: 1, filesize: target.length, ...dev }, name, target);
        break;
      }
      case 'char':
      case 'block':
        push(
          {
            ino: ino++,
            mode: (e.type === 'char' ? S_IFCHR : S_IFBLK) | permissions(e.mode, 0o600, name),
            nlink: 1,
            filesize: 0,
            rdevmajor: e.major,
            rdevminor: e.minor,
          },
          name,
          none,
        );
        break;
    }
  }
  push({ ino: 0, mode: 0, nlink: 1, filesize: 0, rdevmajor: 0, rdevminor: 0 }, TRAILER, none);
  return Buffer.concat(parts);
}
