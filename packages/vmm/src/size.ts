// Sizes as people write them: "512M", "2G", "1048576". Suffixes are binary (as Cloud Hypervisor's).
const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Bytes, or undefined when `text` is not a size or is past 2^53. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(n) ? n : undefined;
}
