// The real check of every layout and number we declare: gcc compiles a program against
// /usr/include/linux/kvm.h that prints sizeof/offsetof/the macro values, and we compare.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as K from './constants';
import { ALL_LAYOUTS } from './structs/index';

const hasGcc = spawnSync('gcc', ['--version']).status === 0 && fs.existsSync('/usr/include/linux/kvm.h');
if (!hasGcc) console.warn('SKIP (no gcc or no /usr/include/linux/kvm.h): KVM ABI layout check');

/** Every exported number of constants.ts whose name is a kernel macro. */
const macros = Object.entries(K).filter(
  (e): e is [string, number] =>
    typeof e[1] === 'number' && e[0].startsWith('KVM') && e[0] !== 'KVM_API_VERSION',
);

function compileAndRun(): Map<string, number> {
  const lines: string[] = [];
  for (const l of ALL_LAYOUTS) {
    lines.push(`  P("sizeof ${l.cName}", sizeof(${l.cName}));`);
    for (const f of Object.keys(l.fields)) lines.push(`  P("${l.cName}.${f}", offsetof(${l.cName}, ${f}));`);
  }
  for (const [name] of macros) lines.push(`  P("${name}", (unsigned long)(${name}));`);
  lines.push(`  P("KVM_API_VERSION", KVM_API_VERSION);`);
  const src = [
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <linux/kvm.h>',
    '#define P(name, v) printf("%s=%lu\\n", name, (unsigned long)(v))',
    'int main(void) {',
    ...lines,
    '  return 0;',
    '}',
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-abi-'));
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

describe.skipIf(!hasGcc)('KVM ABI against <linux/kvm.h> (gcc)', () => {
  const c = hasGcc ? compileAndRun() : new Map<string, number>();

  it('every struct size and member offset we declare matches the C layout', () => {
    const ours = new Map<string, number>();
    for (const l of ALL_LAYOUTS) {
      ours.set(`sizeof ${l.cName}`, l.size);
      for (const [f, off] of Object.entries(l.fields)) ours.set(`${l.cName}.${f}`, off);
    }
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
});
