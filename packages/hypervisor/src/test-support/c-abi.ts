// The ABI checks' one harness: gcc compiles a program against the real C headers that prints
// named values (sizeof, offsetof, macros), and the tests compare them with what we declare.
// kvm/abi.test.ts (<linux/kvm.h>), sys/fs-layout.test.ts (libc and the kernel's *at() headers)
// and virtio's fs/layout.test.ts (<linux/fuse.h>) use it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A declared struct layout: its C name, our size, our member offsets; `cSize` a C expression for
 *  its size where the header's struct has grown past the one we speak. */
export interface CheckedLayout {
  cName: string;
  size: number;
  fields: Readonly<Record<string, number>>;
  cSize?: string;
}

/** The values gcc prints for `exprs` (name -> C expression), with `preamble` (#define and #include lines) above. */
export function cValues(
  preamble: readonly string[],
  exprs: readonly (readonly [string, string])[],
): Map<string, number> {
  const src = [
    ...preamble,
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#define P(name, v) printf("%s=%ld\\n", name, (long)(v))',
    'int main(void) {',
    ...exprs.map(([name, expr]) => `  P("${name}", ${expr});`),
    '  return 0;',
    '}',
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'c-abi-'));
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

/** The C expressions of every layout's size and member offsets, named as layoutValues names them. */
export function layoutExprs(layouts: readonly CheckedLayout[]): [string, string][] {
  const out: [string, string][] = [];
  for (const l of layouts) {
    out.push([`sizeof ${l.cName}`, l.cSize ?? `sizeof(${l.cName})`]);
    for (const f of Object.keys(l.fields)) out.push([`${l.cName}.${f}`, `offsetof(${l.cName}, ${f})`]);
  }
  return out;
}

/** Our sizes and member offsets, named as layoutExprs names them. */
export function layoutValues(layouts: readonly CheckedLayout[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of layouts) {
    out.set(`sizeof ${l.cName}`, l.size);
    for (const [f, off] of Object.entries(l.fields)) out.set(`${l.cName}.${f}`, off);
  }
  return out;
}
