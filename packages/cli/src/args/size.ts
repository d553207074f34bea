import { parseByteSize } from '@vmm/vmm';
import { UsageError } from './errors';

/** "512M", "3584M", "2G", "1048576" -> bytes. Suffixes are binary (as Cloud Hypervisor's). */
export function parseSize(text: string, what: string): number {
  const n = parseByteSize(text);
  if (n === undefined) throw new UsageError(`${what}: '${text}' is not a size (use e.g. 512M or 2G)`);
  return n;
}
