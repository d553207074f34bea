// Two byte streams joined both ways (a host client and a guest connection): backpressure through
// pipe(), an end passed on as an end (half-close), an error or a close on either side ends both.
import type { Duplex } from 'node:stream';

export function joinStreams(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  a.resume();
  const both = (): void => {
    a.destroy();
    b.destroy();
  };
  a.once('error', both);
  b.once('error', both);
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
}
