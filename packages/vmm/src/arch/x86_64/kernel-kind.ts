// What a kernel file is, without loading it: its format, and whether it is Linux (host quirks
// and Linux-only command-line options apply only then).
import { isBzImage } from './bzimage';
import { isElf, parseElf } from './elf';
import type { KernelFormat } from './loader';
import type { KernelInput } from './kernel-source';

const LINUX_BANNER = Buffer.from('Linux version ', 'latin1');

/** The format loadKernel will pick, or undefined when it will refuse the file. Never throws. */
export function kernelFormat(bytes: KernelInput): KernelFormat | undefined {
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
 * compressed, so it cannot be searched). An ELF is Linux when it carries a note owned by "Linux"
 * (4.19 and later: read from the program headers, no scan), or else holds the "Linux version "
 * banner (a scan of the whole file: ~17 MB for a vmlinux, tens of ms at every start).
 */
export function isLinuxKernel(bytes: KernelInput): boolean {
  if (isBzImage(bytes)) return true;
  if (!isElf(bytes)) return false;
  try {
    if (parseElf(bytes).linuxNote) return true;
  } catch {
    // Not an ELF the loader takes: it says why; the banner still tells what the file is.
  }
  if (bytes instanceof Uint8Array)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes(LINUX_BANNER);
  // Through the file a chunk at a time, each overlapping the last by the banner's length.
  const chunk = Buffer.alloc(Math.min(bytes.length, 4 << 20));
  for (let at = 0; at < bytes.length; at += chunk.length - LINUX_BANNER.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, bytes.length - at));
    bytes.readInto(part, at);
    if (part.includes(LINUX_BANNER)) return true;
    if (at + part.length >= bytes.length) break;
  }
  return false;
}
