import { afterAll, describe, expect, it } from 'vitest';
import { parseElf } from './elf';
import { isLinuxKernel, kernelFormat } from './kernel-kind';
import { buildGuestElf, hasGcc, makeBzImage, removeBuiltGuests } from './test-images.test-support';

if (!hasGcc) console.warn('SKIP (no gcc): kernel kind of gcc-built ELF guests');

describe('kernel kind', () => {
  afterAll(removeBuiltGuests);

  it('a bzImage is Linux; garbage is nothing', () => {
    expect(kernelFormat(makeBzImage())).toBe('bzimage');
    expect(isLinuxKernel(makeBzImage())).toBe(true);
    expect(kernelFormat(new Uint8Array(600))).toBeUndefined();
    expect(isLinuxKernel(new TextEncoder().encode('Linux version 6.1'))).toBe(false);
  });

  it.skipIf(!hasGcc)('ELF guests: PVH or not, Linux with the banner', () => {
    expect(kernelFormat(buildGuestElf('pvh-guest'))).toBe('elf-pvh');
    expect(kernelFormat(buildGuestElf('long-mode-guest'))).toBe('elf');
    expect(isLinuxKernel(buildGuestElf('pvh-guest'))).toBe(false);
    const elf = buildGuestElf('pvh-guest');
    const withBanner = new Uint8Array(elf.length + 40);
    withBanner.set(elf);
    withBanner.set(new TextEncoder().encode('Linux version 6.1.0 (x@y)'), elf.length + 4);
    expect(isLinuxKernel(withBanner)).toBe(true);
    expect(kernelFormat(elf.subarray(0, 100))).toBeUndefined();
  });

  it.skipIf(!hasGcc)(
    'an ELF with a note owned by "Linux" is Linux without a banner, and keeps its PVH entry',
    () => {
      const noted = buildGuestElf('pvh-guest', ['LINUX_NOTE']);
      expect(new TextDecoder('latin1').decode(noted)).not.toContain('Linux version');
      expect(parseElf(noted)).toMatchObject({ linuxNote: true, pvhEntry: 0x100002 });
      expect(parseElf(buildGuestElf('pvh-guest')).linuxNote).toBe(false);
      expect(isLinuxKernel(noted)).toBe(true);
      expect(kernelFormat(noted)).toBe('elf-pvh');
    },
  );
});
