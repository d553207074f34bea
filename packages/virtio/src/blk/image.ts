// A raw disk image: a regular file or a block device, opened once, checked (a whole number of
// 512-byte sectors), closed with the device. Opened with O_NONBLOCK so that a FIFO or a socket
// given by mistake is refused at once instead of blocking the open until a writer comes. Locked
// while open (image-lock.ts): an image another VM writes is refused.
import fs from 'node:fs';
import { BlkImageError } from '../errors';
import { lockBlkImage, type BlkImageLock } from './image-lock';
import { SECTOR_SIZE } from './layout';

export interface BlkImage {
  readonly path: string;
  readonly fd: number;
  readonly readonly: boolean;
  /** Size in bytes (a multiple of 512). */
  readonly size: number;
  readonly kind: 'file' | 'block';
  /** The lock held on it while it is open (image-lock.ts). */
  readonly lock: BlkImageLock;
}

export function openBlkImage(path: string, readonly: boolean): BlkImage {
  let fd: number;
  const { O_RDONLY, O_RDWR, O_NONBLOCK } = fs.constants;
  try {
    fd = fs.openSync(path, (readonly ? O_RDONLY : O_RDWR) | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new BlkImageError(
      path,
      'EBLKOPEN',
      `cannot open disk image ${path} (${code}): check the path and its permissions, or add readonly=on for a read-only file`,
      { cause: e },
    );
  }
  try {
    const st = fs.fstatSync(fd);
    const kind = st.isFile() ? 'file' : st.isBlockDevice() ? 'block' : undefined;
    if (!kind) {
      throw new BlkImageError(
        path,
        'EBLKTYPE',
        `disk image ${path} is ${describeType(st)}, not a regular file or a block device: give the path of a raw image`,
      );
    }
    const size = kind === 'file' ? st.size : blockDeviceSize(path, st.rdev);
    if (size % SECTOR_SIZE !== 0) {
      throw new BlkImageError(
        path,
        'EBLKSIZE',
        `disk image ${path} is ${size} bytes, not a multiple of ${SECTOR_SIZE}: ` +
          `resize it (e.g. truncate -s ${Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE} ${path})`,
      );
    }
    const lock = lockBlkImage(path, fd, readonly);
    return { path, fd, readonly, size, kind, lock };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** What a non-disk file is, for the error message. */
function describeType(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  return 'not a regular file';
}

/** A block device's size from sysfs (/sys/dev/block/MAJOR:MINOR/size counts 512-byte sectors). */
function blockDeviceSize(path: string, rdev: number): number {
  // Linux's dev_t encoding (include/linux/kdev_t.h: new_decode_dev).
  const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  try {
    const sectors = Number(fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim());
    if (Number.isSafeInteger(sectors) && sectors >= 0) return sectors * 512;
  } catch {
    // fall through to the error below
  }
  throw new BlkImageError(
    path,
    'EBLKSIZE',
    `cannot read the size of block device ${path} (/sys/dev/block/${major}:${minor}/size): is sysfs mounted?`,
  );
}
