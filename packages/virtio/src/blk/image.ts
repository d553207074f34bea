// A raw disk image file: opened once, checked (a regular file, a whole number of 512-byte
// sectors), closed with the device.
import fs from 'node:fs';
import { BlkImageError } from '../errors';
import { SECTOR_SIZE } from './layout';

export interface BlkImage {
  readonly path: string;
  readonly fd: number;
  readonly readonly: boolean;
  /** Size in bytes (a multiple of 512). */
  readonly size: number;
}

export function openBlkImage(path: string, readonly: boolean): BlkImage {
  let fd: number;
  try {
    fd = fs.openSync(path, readonly ? 'r' : 'r+');
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
    if (!st.isFile()) {
      throw new BlkImageError(
        path,
        'EBLKTYPE',
        `disk image ${path} is not a regular file: give the path of a raw image file`,
      );
    }
    if (st.size % SECTOR_SIZE !== 0) {
      throw new BlkImageError(
        path,
        'EBLKSIZE',
        `disk image ${path} is ${st.size} bytes, not a multiple of ${SECTOR_SIZE}: ` +
          `resize it (e.g. truncate -s ${Math.ceil(st.size / SECTOR_SIZE) * SECTOR_SIZE} ${path})`,
      );
    }
    return { path, fd, readonly, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
