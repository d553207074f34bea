import { describe, expect, it } from 'vitest';
import { isBzImage, loadBzImage, parseBzImage } from './bzimage';
import { KernelFitError, KernelImageError, KernelUnsupportedError } from './errors';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { memoryLayout } from './memory-map';
import { BZ_STARTUP_64_MARKER, makeBzImage } from './test-images.test-support';

const MiB = 1024 * 1024;

describe('bzImage setup header (boot.rst)', () => {
  it('reads a 2.15 header: load at pref_address, setup header to 0x202 + jump byte', () => {
    const bytes = makeBzImage();
    expect(isBzImage(bytes)).toBe(true);
    const image = parseBzImage(bytes);
    expect(image.version).toBe(0x020f);
    expect(image.loadAddress).toBe(0x1000000);
    expect(image.setupHeader.length).toBe(0x202 + 0x6a - 0x1f1);
    expect(image.setupHeader[0]).toBe(27); // setup_sects, the header's first byte
    expect([image.kernelOffset, image.kernelSize]).toEqual([28 * 512, 0x4000]);
    expect(image.kernelOffset + image.kernelSize).toBe(bytes.length);
    expect(image.initSize).toBe(0x80_0000);
    expect(image.initrdAddrMax).toBe(0x7fffffff);
    expect(image.cmdlineSize).toBe(2047);
  });

  it('setup_sects 0 means 4', () => {
    const bytes = makeBzImage({ setupSects: 0 });
    expect(parseBzImage(bytes).kernelOffset).toBe(5 * 512);
  });

  it('pref_address 0 falls back to code32_start; relocatable kernels are aligned up to kernel_alignment', () => {
    expect(parseBzImage(makeBzImage({ prefAddress: 0n, relocatable: 0 })).loadAddress).toBe(0x100000);
    expect(
      parseBzImage(makeBzImage({ prefAddress: 0x1234000n, kernelAlignment: 0x200000 })).loadAddress,
    ).toBe(0x1400000);
    expect(() => parseBzImage(makeBzImage({ kernelAlignment: 0x300000 }))).toThrow(/not a power of two/);
    expect(() => parseBzImage(makeBzImage({ prefAddress: 0x8000n, relocatable: 0 }))).toThrow(
      KernelUnsupportedError,
    );
  });

  it('init_size never less than the kernel itself', () => {
    expect(parseBzImage(makeBzImage({ initSize: 16, kernelSize: 0x5000 })).initSize).toBe(0x5000);
  });

  it('refuses protocol < 2.12, no LOADED_HIGH, no 64-bit entry', () => {
    expect(() => parseBzImage(makeBzImage({ version: 0x020b }))).toThrow(
      /boot protocol 2.11 is older than 2.12/,
    );
    expect(() => parseBzImage(makeBzImage({ loadflags: 0 }))).toThrow(/LOADED_HIGH/);
    expect(() => parseBzImage(makeBzImage({ xloadflags: 0x2 }))).toThrow(KernelUnsupportedError);
    expect(() => parseBzImage(makeBzImage({ xloadflags: 0x2 }))).toThrow(/no 64-bit entry point/);
  });

  it('refuses bad magic, truncated files and a header past 0x290', () => {
    const bad = makeBzImage();
    bad[0x202] = 0x58;
    expect(isBzImage(bad)).toBe(false);
    expect(() => parseBzImage(bad)).toThrow(/no "HdrS" magic/);
    expect(() => parseBzImage(makeBzImage().subarray(0, 0x210))).toThrow(KernelImageError);
    expect(() => parseBzImage(makeBzImage().subarray(0, 28 * 512))).toThrow(/file is truncated/);
    expect(() => parseBzImage(makeBzImage({ headerEndByte: 0xa0 }))).toThrow(/past 0x290/);
  });

  it('loads the protected-mode kernel at its load address; 64-bit entry marker at +0x200', () => {
    const memory = new ArrayGuestMemory(memoryLayout(64 * MiB));
    const bytes = makeBzImage();
    const image = parseBzImage(bytes);
    expect(loadBzImage(memory, bytes, image)).toEqual({ start: 0x1000000, end: 0x1800000 });
    expect(memory.slice(0x1000000, image.kernelSize)).toEqual(bytes.subarray(image.kernelOffset));
    expect(memory.readU32(0x1000200)).toBe(BZ_STARTUP_64_MARKER);
  });

  it('init_size beyond RAM fails with KernelFitError', () => {
    const memory = new ArrayGuestMemory(memoryLayout(32 * MiB));
    const bytes = makeBzImage({ initSize: 0x200_0000 });
    const image = parseBzImage(bytes);
    expect(() => loadBzImage(memory, bytes, image)).toThrow(KernelFitError);
    expect(() => loadBzImage(memory, bytes, image)).toThrow(/init_size 32 MiB.*guest RAM is 32 MiB/);
  });
});
