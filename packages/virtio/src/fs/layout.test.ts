// The real check of every FUSE layout and number we declare: gcc compiles a program against the
// kernel's <linux/fuse.h> that prints sizeof/offsetof/the macro and enum values, and we compare.
// The header may be newer than the 7.31 we speak: structs that grew say their 7.31 size (`cSize`).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as L from './layout';

const hasGcc = spawnSync('gcc', ['--version']).status === 0 && fs.existsSync('/usr/include/linux/fuse.h');
if (!hasGcc) console.warn('SKIP (no gcc or no /usr/include/linux/fuse.h): FUSE ABI layout check');

/** Our numbers that are not the header's: the minor version we speak is ours to choose. */
const ours = new Set(['FUSE_KERNEL_MINOR_VERSION', 'FUSE_MIN_MINOR_VERSION']);
const macros = Object.entries(L).filter(
  (e): e is [string, number] =>
    typeof e[1] === 'number' && /^(FUSE|FOPEN|FATTR)_/.test(e[0]) && !ours.has(e[0]),
);

function compileAndRun(): Map<string, number> {
  const lines: string[] = [];
  for (const l of L.ALL_LAYOUTS) {
    lines.push(`  P("sizeof ${l.cName}", ${l.cSize ?? `sizeof(${l.cName})`});`);
    for (const f of Object.keys(l.fields)) lines.push(`  P("${l.cName}.${f}", offsetof(${l.cName}, ${f}));`);
  }
  for (const [name] of macros) lines.push(`  P("${name}", (long)(${name}));`);
  const src = [
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <linux/fuse.h>',
    '#define P(name, v) printf("%s=%ld\\n", name, (long)(v))',
    'int main(void) {',
    ...lines,
    '  return 0;',
    '}',
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuse-abi-'));
  try {
    fs.writeFileSync(path.join(dir, 'abi.c'), src);
    execFileSync('gcc', ['-o', path.join(dir, 'abi'), path.join(dir, 'abi.c')], { stdio: 'pipe' });
    const out = execFileSync(path.join(dir, 'abi'), { encoding: 'utf8' });
    return new Map(
      out
        .trim()
        .split('\n')
        .map((line) => {
          const eq = line.lastIndexOf('=');
          return [line.slice(0, eq), Number(line.slice(eq + 1))] as [string, number];
        }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasGcc)('FUSE ABI against <linux/fuse.h> (gcc)', () => {
  const c = hasGcc ? compileAndRun() : new Map<string, number>();

  it('every struct size and member offset we declare matches the C layout', () => {
    const mine = new Map<string, number>();
    for (const l of L.ALL_LAYOUTS) {
      mine.set(`sizeof ${l.cName}`, l.size);
      for (const [f, off] of Object.entries(l.fields)) mine.set(`${l.cName}.${f}`, off);
    }
    expect(Object.fromEntries(mine)).toEqual(Object.fromEntries([...c].filter(([k]) => mine.has(k))));
    expect(mine.size).toBeGreaterThan(100);
  });

  it('every opcode and flag matches the header', () => {
    expect(macros.length).toBeGreaterThan(70);
    expect(Object.fromEntries(macros)).toEqual(Object.fromEntries(macros.map(([n]) => [n, c.get(n)])));
  });
});
