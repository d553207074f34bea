// Where the fuzz targets are: every packages/<pkg>/src/**/<name>.fuzz-target.ts. A target's id is
// <pkg>/<path under src, without the suffix> (net/tcp/header); its checked-in corpus is
// packages/<pkg>/fuzz/corpus/<same path>/; what `pnpm fuzz` finds goes to .cache/fuzz/targets/<id>/
// (gitignored). The files under test, instrumented for coverage, are the target's own package's
// sources, less tests, test support and the fuzz targets themselves.
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const SUFFIX = '.fuzz-target.ts';
const NOT_UNDER_TEST = /\.test\.ts$|\.test-support\.ts$|\.fuzz-target\.ts$|[\\/]test-support[\\/]/;

export interface TargetInfo {
  id: string;
  /** The target module. */
  file: string;
  /** Its checked-in corpus. */
  corpusDir: string;
  /** Where a long run writes new corpus entries (corpus/) and crash-* files. */
  outDir: string;
  /** The package source directory whose files are instrumented. */
  sourceDir: string;
}

export function findTargets(root = ROOT): TargetInfo[] {
  const out: TargetInfo[] = [];
  const packages = path.join(root, 'packages');
  for (const pkg of fs.readdirSync(packages).sort()) {
    const src = path.join(packages, pkg, 'src');
    if (!fs.existsSync(src)) continue;
    for (const rel of walk(src)) {
      if (!rel.endsWith(SUFFIX)) continue;
      const name = rel.slice(0, -SUFFIX.length);
      const id = `${pkg}/${name.split(path.sep).join('/')}`;
      out.push({
        id,
        file: path.join(src, rel),
        corpusDir: path.join(packages, pkg, 'fuzz', 'corpus', name),
        outDir: path.join(root, '.cache', 'fuzz', 'targets', id),
        sourceDir: src,
      });
    }
  }
  return out;
}

/** Whether `file` (absolute) is under test for `target`: instrumented. */
export function underTest(target: TargetInfo, file: string): boolean {
  return file.startsWith(target.sourceDir + path.sep) && file.endsWith('.ts') && !NOT_UNDER_TEST.test(file);
}

/** Targets named by `names` (an id, or any part of one); all of them when none is given. */
export function selectTargets(all: TargetInfo[], names: string[]): TargetInfo[] {
  if (names.length === 0) return all;
  const picked = new Set<TargetInfo>();
  for (const n of names) {
    const exact = all.filter((t) => t.id === n);
    const matches = exact.length ? exact : all.filter((t) => t.id.includes(n));
    if (matches.length === 0) {
      throw new Error(`no fuzz target matches '${n}': known targets are ${all.map((t) => t.id).join(', ')}`);
    }
    for (const t of matches) picked.add(t);
  }
  return [...picked];
}

function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = path.join(prefix, e.name);
    if (e.isDirectory()) out.push(...walk(path.join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}
