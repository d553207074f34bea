// The monitor's one place for rate limiting what components report (LogSink): at most one line
// per kind per interval, and the next line of a kind says how many were held back. A guest that
// triggers the same event a million times costs a counter, not a million lines.
import type { LogSink } from '@vmm/hypervisor';

export const LOG_INTERVAL_MS = 10_000;

export function rateLimitedLog(
  out: (line: string, kind: string) => void,
  intervalMs = LOG_INTERVAL_MS,
  now: () => number = () => performance.now(),
): LogSink {
  const kinds = new Map<string, { last: number; held: number }>();
  return (kind, line) => {
    const t = now();
    const k = kinds.get(kind);
    if (k && t - k.last < intervalMs) {
      k.held++;
      return;
    }
    const held = k?.held ?? 0;
    kinds.set(kind, { last: t, held: 0 });
    out(held > 0 ? `${line} (and ${held} more like it)` : line, kind);
  };
}
