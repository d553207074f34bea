// Waiting in model tests for what real host sockets deliver: polls `fn` every 5 ms until it
// returns something other than undefined, or fails after `ms`.
export async function until<T>(fn: () => T | undefined, ms = 3000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
