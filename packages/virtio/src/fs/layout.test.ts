// The real check of every FUSE layout and number we declare: gcc compiles a program against the
// kernel's <linux/fuse.h> that prints sizeof/offsetof/the macro and enum values, and we compare.
// The header may be newer than the 7.33 we speak: structs that grew say their 7.33 size (`cSize`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as L from './layout';
import { cValues, layoutExprs, layoutValues } from '../../../hypervisor/src/test-support/c-abi';

const hasGcc = spawnSync('gcc', ['--version']).status === 0 && fs.existsSync('/usr/include/linux/fuse.h');
if (!hasGcc) console.warn('SKIP (no gcc or no /usr/include/linux/fuse.h): FUSE ABI layout check');

/** Our numbers that are not the header's: the minor version we speak is ours to choose. */
const ours = new Set(['FUSE_KERNEL_MINOR_VERSION', 'FUSE_MIN_MINOR_VERSION']);
const macros = Object.entries(L).filter(
  (e): e is [string, number] =>
    typeof e[1] === 'number' && /^(FUSE|FOPEN|FATTR)_/.test(e[0]) && !ours.has(e[0]),
);

function compileAndRun(): Map<string, number> {
  return cValues(
    ['#include <linux/fuse.h>'],
    [...layoutExprs(L.ALL_LAYOUTS), ...macros.map(([name]) => [name, name] as const)],
  );
}

describe.skipIf(!hasGcc)('FUSE ABI against <linux/fuse.h> (gcc)', () => {
  const c = hasGcc ? compileAndRun() : new Map<string, number>();

  it('every struct size and member offset we declare matches the C layout', () => {
    const mine = layoutValues(L.ALL_LAYOUTS);
    expect(Object.fromEntries(mine)).toEqual(Object.fromEntries([...c].filter(([k]) => mine.has(k))));
    expect(mine.size).toBeGreaterThan(100);
  });

  it('every opcode and flag matches the header', () => {
    expect(macros.length).toBeGreaterThan(70);
    expect(Object.fromEntries(macros)).toEqual(Object.fromEntries(macros.map(([n]) => [n, c.get(n)])));
  });
});
