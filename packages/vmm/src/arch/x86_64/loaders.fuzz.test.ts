// Fuzz: mutated and random kernel images must load or fail with a VmmError, never anything else
// (no RangeError from a DataView, no TypeError), and never write outside guest RAM.
import { VmmError } from '@vmm/hypervisor';
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { loadKernel } from './loader';
import { memoryLayout } from './memory-map';
import { buildGuestElf, hasGcc, makeBzImage, removeBuiltGuests } from './test-images.test-support';

if (!hasGcc)
  console.warn('SKIP (no gcc): ELF seeds of the loader fuzz test (bzImage and random seeds still run)');

// VMM_FUZZ_MS lengthens a run by hand (e.g. 60000); the default keeps the suite fast.
const BUDGET_MS = Number(process.env.VMM_FUZZ_MS ?? 700);
const RAM = 32 * 1024 * 1024;

/** xorshift32: reproducible runs; the seed is printed on failure. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function mutate(seed: Uint8Array, rand: () => number): Uint8Array {
  let bytes = seed.slice();
  const edits = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < edits; i++) {
    const r = rand();
    if (r < 0.15) {
      bytes = bytes.subarray(0, Math.floor(rand() * bytes.length)); // truncate
    } else if (r < 0.3 && bytes.length > 0x250) {
      // Interesting header values in the parts every parser reads.
      const at = Math.floor(rand() * 0x270);
      const v = [0, 0xff, 0x7f, 0x80][Math.floor(rand() * 4)]!;
      bytes.fill(v, at, Math.min(bytes.length, at + 1 + Math.floor(rand() * 8)));
    } else if (bytes.length > 0) {
      const at =
        rand() < 0.7 ? Math.floor(rand() * Math.min(bytes.length, 0x300)) : Math.floor(rand() * bytes.length);
      bytes[at] = Math.floor(rand() * 256);
    }
  }
  return bytes;
}

describe('kernel loaders under mutated input', () => {
  afterAll(removeBuiltGuests);

  it('only ever throw VmmError', () => {
    const seeds: Uint8Array[] = [makeBzImage({ kernelSize: 0x800, initSize: 0x1000 })];
    if (hasGcc) seeds.push(buildGuestElf('pvh-guest'), buildGuestElf('long-mode-guest'));
    const memory = new ArrayGuestMemory(memoryLayout(RAM));
    const initrd = new Uint8Array(8192).fill(0x5a);
    const start = Date.now();
    let runs = 0;
    let loaded = 0;
    for (let seed = 1; Date.now() - start < BUDGET_MS; seed++) {
      const rand = rng(seed);
      const base = seeds[seed % seeds.length]!;
      const input =
        seed % 17 === 0
          ? Uint8Array.from({ length: 1 + Math.floor(rand() * 2000) }, () => rand() * 256)
          : mutate(base, rand);
      try {
        loadKernel(memory, input, { cmdline: 'console=ttyS0', initrd, ramSize: RAM });
        loaded++;
      } catch (err) {
        if (!(err instanceof VmmError)) {
          throw new Error(`seed ${seed}: ${String(err)}`, { cause: err });
        }
      }
      runs++;
    }
    expect(runs).toBeGreaterThan(100);
    expect(loaded).toBeGreaterThan(0);
  });
});
