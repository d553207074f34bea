import { UsageError } from './errors';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "512M", "3584M", "2G", "1048576" -> bytes. Suffixes are binary (as Cloud Hypervisor's). */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${what}: '${text}' is not a size (use e.g. 512M or 2G)`);
  const n = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what}: '${text}' is too large`);
  return n;
}
