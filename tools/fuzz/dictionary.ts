// The mutation dictionary: the numbers and strings written in the code under test, as byte strings
// of every width they fit (little- and big-endian). A parser that checks `magic === 0x63825363` or a
// type byte against a constant is reached by splicing in that constant, which random bytes would
// take billions of tries to hit (libFuzzer's -dict and its comparison tracing do the same job).

const MAX_TOKENS = 4096;

export function dictionaryFrom(sources: readonly string[]): Uint8Array[] {
  const tokens = new Map<string, Uint8Array>();
  const add = (b: Uint8Array): void => {
    if (b.length === 0 || tokens.size >= MAX_TOKENS) return;
    tokens.set(Buffer.from(b).toString('hex'), b);
  };
  for (const text of sources) {
    for (const m of text.matchAll(/\b(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)\b/g)) {
      const v = Number(m[1]!.replace(/_/g, ''));
      if (!Number.isSafeInteger(v) || v < 2) continue;
      for (const width of [1, 2, 4, 8]) {
        if (width < 8 && v >= 2 ** (8 * width)) continue;
        const le = new Uint8Array(width);
        let x = v;
        for (let i = 0; i < width; i++) {
          le[i] = x % 256;
          x = Math.floor(x / 256);
        }
        add(le);
        if (width > 1) add(le.slice().reverse());
      }
    }
    for (const m of text.matchAll(/'([ -&(-~]{2,32})'|"([ !#-~]{2,32})"/g)) {
      add(new TextEncoder().encode(m[1] ?? m[2]!));
    }
  }
  return [...tokens.values()];
}
