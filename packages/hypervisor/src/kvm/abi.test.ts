// The real check of every layout and number we declare: gcc compiles a program against
// /usr/include/linux/kvm.h that prints sizeof/offsetof/the macro values, and we compare.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as K from './constants';
import { ALL_LAYOUTS } from './structs/index';
import { RUN_INTERNAL_DATA_MAX, RUN_MMIO_DATA_SIZE } from './structs/run';
import { cValues, layoutExprs, layoutValues } from '../test-support/c-abi';

const hasGcc = spawnSync('gcc', ['--version']).status === 0 && fs.existsSync('/usr/include/linux/kvm.h');
if (!hasGcc) console.warn('SKIP (no gcc or no /usr/include/linux/kvm.h): KVM ABI layout check');

/** Every exported number of constants.ts whose name is a kernel macro. */
const macros = Object.entries(K).filter(
  (e): e is [string, number] =>
    typeof e[1] === 'number' && e[0].startsWith('KVM') && e[0] !== 'KVM_API_VERSION',
);

function compileAndRun(): Map<string, number> {
  return cValues(
    ['#include <linux/kvm.h>'],
    [
      ...layoutExprs(ALL_LAYOUTS),
      ...macros.map(([name]) => [name, `(unsigned long)(${name})`] as const),
      ['KVM_API_VERSION', 'KVM_API_VERSION'],
      ['RUN_MMIO_DATA_SIZE', 'sizeof(((struct kvm_run *)0)->mmio.data)'],
      ['RUN_INTERNAL_DATA_MAX', 'sizeof(((struct kvm_run *)0)->internal.data) / sizeof(__u64)'],
    ],
  );
}

describe.skipIf(!hasGcc)('KVM ABI against <linux/kvm.h> (gcc)', () => {
  const c = hasGcc ? compileAndRun() : new Map<string, number>();

  it('every struct size and member offset we declare matches the C layout', () => {
    const ours = layoutValues(ALL_LAYOUTS);
    const theirs = new Map([...c].filter(([k]) => ours.has(k)));
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
    expect(ours.size).toBeGreaterThan(100);
  });

  it('every ioctl number, capability, exit reason and state matches the kernel macro', () => {
    expect(macros.length).toBeGreaterThan(60);
    const ours = Object.fromEntries(macros);
    const theirs = Object.fromEntries(macros.map(([name]) => [name, c.get(name)]));
    expect(ours).toEqual(theirs);
    expect(c.get('KVM_API_VERSION')).toBe(K.KVM_API_VERSION);
  });

  it("kvm_run's array sizes the exit decoder bounds itself by", () => {
    expect(c.get('RUN_MMIO_DATA_SIZE')).toBe(RUN_MMIO_DATA_SIZE);
    expect(c.get('RUN_INTERNAL_DATA_MAX')).toBe(RUN_INTERNAL_DATA_MAX);
  });
});
