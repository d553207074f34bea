// Test-only: run Debian's iasl (acpica-tools) on our tables in a temporary directory and parse what
// it says. A table is good when iasl disassembles it with no complaint and, compiled back, gives
// the same bytes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const IASL_AVAILABLE = spawnSync('iasl', ['-v'], { encoding: 'utf8' }).status === 0;
if (!IASL_AVAILABLE)
  console.warn('SKIP (iasl not installed: apt-get install acpica-tools): ACPI tables not checked by iasl');

export interface IaslRun {
  status: number | null;
  output: string;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'acpi-iasl-'));
}

function run(dir: string, args: string[]): IaslRun {
  const r = spawnSync('iasl', args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `iasl -d` on `bytes`; returns the .dsl text and what iasl printed. */
export function disassemble(dir: string, name: string, bytes: Uint8Array): IaslRun & { dsl: string } {
  const file = path.join(dir, `${name}.dat`);
  fs.writeFileSync(file, bytes);
  const prefix = path.join(dir, name);
  const r = run(dir, ['-p', prefix, '-d', file]);
  const dslFile = `${prefix}.dsl`;
  return { ...r, dsl: fs.existsSync(dslFile) ? fs.readFileSync(dslFile, 'utf8') : '' };
}

/** Compile ASL or data-table source with iasl (-oa: no optimizations, so the AML is literal). */
export function compile(
  dir: string,
  name: string,
  source: string,
): IaslRun & { aml: Uint8Array; counts: number[] } {
  const file = path.join(dir, `${name}.asl`);
  fs.writeFileSync(file, source);
  const prefix = path.join(dir, `${name}-compiled`);
  const r = run(dir, ['-oa', '-p', prefix, file]);
  const m = /(\d+) Errors, (\d+) Warnings, (\d+) Remarks/.exec(r.output);
  const counts = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [-1, -1, -1];
  const amlFile = `${prefix}.aml`;
  return {
    ...r,
    counts,
    aml: fs.existsSync(amlFile) ? new Uint8Array(fs.readFileSync(amlFile)) : new Uint8Array(),
  };
}

/** Lines of iasl output or .dsl text that report a problem. */
export function complaints(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /error|warning|\*\*\*\*|incorrect|invalid|unknown|terminates/i.test(l));
}

/**
 * Positions where `ours` and `theirs` differ, except End Tag checksums (ACPI 6.5 §6.4.2.9) that we
 * compute and iasl leaves 0 ("treated as if the checksum operation succeeded").
 */
export function diffIgnoringEndTagChecksums(ours: Uint8Array, theirs: Uint8Array): number[] {
  const out: number[] = [];
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    if (ours[i] === theirs[i]) continue;
    if (i > 0 && ours[i - 1] === 0x79 && theirs[i - 1] === 0x79 && theirs[i] === 0) continue;
    out.push(i);
  }
  return out;
}

/**
 * ACPICA's acpiexec (the interpreter Linux runs, in user space) loading `tables` and running the
 * batch `commands` ("evaluate \_S5; ..."). Returns what it printed.
 */
export function acpiexec(
  dir: string,
  tables: { name: string; bytes: Uint8Array }[],
  commands: string,
): IaslRun {
  const files = tables.map((t) => {
    const file = path.join(dir, `${t.name}.exec.dat`);
    fs.writeFileSync(file, t.bytes);
    return file;
  });
  const r = spawnSync('acpiexec', ['-b', commands, ...files], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
