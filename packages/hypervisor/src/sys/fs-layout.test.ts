// The check of every struct layout and number fs-at.ts relies on: gcc compiles a program against
// the C library's and the kernel's headers that prints sizeof/offsetof/the macro values, and we
// compare (as kvm/abi.test.ts does for KVM).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as C from './fs-constants';
import { FS_LAYOUTS } from './fs-layout';
import { cValues, layoutExprs, layoutValues } from '../test-support/c-abi';

const hasGcc =
  process.platform === 'linux' &&
  spawnSync('gcc', ['--version']).status === 0 &&
  fs.existsSync('/usr/include/linux/openat2.h');
if (!hasGcc) console.warn('SKIP (no gcc or no /usr/include/linux/openat2.h): *at() ABI layout check');

/** Our constant name -> the C expression it must equal, where the name alone is not it. */
const cExpr: Record<string, string> = { SYS_OPENAT2: '__NR_openat2', SYS_OPEN_TREE: '__NR_open_tree' };
/** glibc's O_LARGEFILE is 0 on 64-bit (implied) and its <fcntl.h> cannot be mixed with the
 *  kernel's <asm/fcntl.h>: the kernel's value (asm-generic/fcntl.h: 00100000) is checked by hand. */
const notInGlibc = new Set(['O_LARGEFILE']);
const macros = Object.entries(C)
  .filter((e): e is [string, number] => typeof e[1] === 'number' && !notInGlibc.has(e[0]))
  .map(([name, value]) => [name, cExpr[name] ?? name, value] as const);

function compileAndRun(): Map<string, number> {
  return cValues(
    [
      '#define _GNU_SOURCE',
      '#include <fcntl.h>',
      '#include <dirent.h>',
      '#include <time.h>',
      '#include <sys/stat.h>',
      '#include <sys/statvfs.h>',
      '#include <sys/mount.h>',
      '#include <sys/xattr.h>',
      '#include <sys/uio.h>',
      '#include <poll.h>',
      '#include <limits.h>',
      '#include <asm/unistd.h>',
      '#include <linux/openat2.h>',
    ],
    [...layoutExprs(FS_LAYOUTS), ...macros.map(([name, expr]) => [name, expr] as const)],
  );
}

describe.skipIf(!hasGcc)('*at() ABI against the C headers (gcc)', () => {
  const c = hasGcc ? compileAndRun() : new Map<string, number>();

  it('every struct size and member offset we declare matches the C layout', () => {
    const ours = layoutValues(FS_LAYOUTS);
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries([...c].filter(([k]) => ours.has(k))));
  });

  it('every flag and number matches the C macro', () => {
    expect(macros.length).toBeGreaterThan(50);
    const ours = Object.fromEntries(macros.map(([name, , v]) => [name, v]));
    const theirs = Object.fromEntries(macros.map(([name]) => [name, c.get(name)]));
    expect(ours).toEqual(theirs);
  });
});
