import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testVmsRoot } from '../cache';
import { droppedOptions, parseKconfig } from './config';

describe('kconfig fragments', () => {
  it('parses set and unset lines and ignores comments', () => {
    const v = parseKconfig('# a comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_N=8\n');
    expect([...v]).toEqual([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', undefined],
      ['CONFIG_C', '"x y"'],
      ['CONFIG_N', '8'],
    ]);
  });

  it('names options the final config dropped or changed', () => {
    const frag = parseKconfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=8\nCONFIG_M=y\n');
    const final = parseKconfig('CONFIG_A=y\nCONFIG_B=y\nCONFIG_N=64\n# CONFIG_M is not set\n');
    expect(droppedOptions(frag, final)).toEqual([
      'CONFIG_B is y, wanted not set',
      'CONFIG_N is 64, wanted 8',
      'CONFIG_M is not set, wanted y',
    ]);
    expect(droppedOptions(frag, frag)).toEqual([]);
  });

  it('the project fragment asks for the options the tests rely on', () => {
    const v = parseKconfig(fs.readFileSync(path.join(testVmsRoot, 'kernel', 'config'), 'utf8'));
    for (const o of [
      'CONFIG_PVH',
      'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES',
      'CONFIG_SERIAL_8250_CONSOLE',
      'CONFIG_ACPI',
    ]) {
      expect(v.get(o)).toBe('y');
    }
    expect(v.has('CONFIG_LEGACY_PTYS') && v.get('CONFIG_LEGACY_PTYS')).toBeUndefined();
  });
});
