// A C library function the disk calls through koffi, bound on first use, or null where there is
// none (not Linux, no such symbol). Called directly in a disk's own I/O thread, or through
// `.async` on the libuv pool, whose callback gets the C result.
import koffi from 'koffi';

export type LibcFunc<A extends unknown[]> = ((...args: A) => number) & {
  async: (...args: [...A, (err: unknown, res: number) => void]) => void;
};

/** A getter for the function `declaration` (a C prototype), bound once. */
export function optionalLibcFunc<A extends unknown[]>(declaration: string): () => LibcFunc<A> | null {
  let f: LibcFunc<A> | null | undefined;
  return () => {
    if (f !== undefined) return f;
    f = null;
    if (process.platform === 'linux') {
      try {
        f = koffi.load('libc.so.6').func(declaration) as LibcFunc<A>;
      } catch {
        f = null;
      }
    }
    return f;
  };
}
