// What a kernel file is, without loading it: its format, and whether it is Linux (host quirks
// and Linux-only command-line options apply only then).
import { isBzImage } from './bzimage';
import { isElf, parseElf } from './elf';
import type { KernelFormat } from './loader';

const LINUX_BANNER = Buffer.from('Linux version ', 'latin1');

/** The format loadKernel will pick, or undefined when it will refuse the file. Never throws. */
export function kernelFormat(bytes: Uint8Array): KernelFormat | undefined {
  if (isElf(bytes)) {
    try {
      return parseElf(bytes).pvhEntry === undefined ? 'elf' : 'elf-pvh';
    } catch {
      return undefined;
    }
  }
  return isBzImage(bytes) ? 'bzimage' : undefined;
}

/**
 * A bzImage is always Linux (its "HdrS" header is the Linux boot protocol; its banner is
 * compressed, so it cannot be searched). An ELF is Linux when it holds the "Linux version " banner.
 */
export function isLinuxKernel(bytes: Uint8Array): boolean {
  if (isBzImage(bytes)) return true;
  return isElf(bytes) && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes(LINUX_BANNER);
}
