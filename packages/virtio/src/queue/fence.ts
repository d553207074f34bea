// A full memory barrier between our stores to a ring and our next loads from it (§2.7.7.2 and
// §2.7.10 need store-then-load order against a driver on another CPU). Plain typed-array accesses
// give none, but a sequentially consistent Atomics operation is one (lock-prefixed on x86_64,
// dmb on arm64), whatever memory it touches.
const word = new Int32Array(new SharedArrayBuffer(4));

export function fence(): void {
  Atomics.add(word, 0, 0);
}
