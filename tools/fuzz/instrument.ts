// Builds a fuzz target into one script the engine can run: esbuild bundles the target with what it
// imports (workspace packages from their TypeScript sources, node_modules left external), and each
// source file under test is first instrumented by istanbul-lib-instrument, which puts a counter at
// every statement, function and branch arm. Istanbul keeps its counters in a coverage object behind
// a function call; here they become increments of one Uint32Array slice per file (counters.ts), the
// cheapest thing V8 can do, which the engine reads and zeroes after each input. Instrumented files
// are cached in .cache/fuzz/build by content hash, since babel takes ~0.1 s a file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { createInstrumenter, type FileCoverage } from 'istanbul-lib-instrument';

/** The function an instrumented file calls once, at load, for its slice of the counters. */
export const REGISTRY_GLOBAL = '__vmmFuzzCounters';
/** Bump when the rewrite below changes: it is part of the cache key. */
const REWRITE_VERSION = '1';
const TOOL_VERSIONS = [
  esbuild.version,
  (createRequire(import.meta.url)('istanbul-lib-instrument/package.json') as { version: string }).version,
].join(' ');

export interface InstrumentedFile {
  /** Path relative to the repository root. */
  file: string;
  /** The source line of each of its counters, in counter order. */
  lines: number[];
}

export interface TargetBuild {
  /** The bundle: a CommonJS script. */
  code: string;
  /** The instrumented files, by their path relative to the root. */
  files: Map<string, InstrumentedFile>;
  /** Source texts whose literals seed the mutation dictionary (the files under test, the target). */
  sources: string[];
}

export interface BuildOptions {
  root: string;
  /** The target module (a .fuzz-target.ts file). */
  entry: string;
  /** Whether an absolute path is a file under test. */
  instrument: (file: string) => boolean;
  /** Where instrumented files are cached; none when absent. */
  cacheDir?: string;
}

export async function buildTarget(options: BuildOptions): Promise<TargetBuild> {
  const files = new Map<string, InstrumentedFile>();
  const sources = [fs.readFileSync(options.entry, 'utf8')];
  let instrumenter: ReturnType<typeof createInstrumenter> | undefined;
  const plugin: esbuild.Plugin = {
    name: 'vmm-fuzz',
    setup(build) {
      // Workspace packages from source, as vitest and tsconfig's paths resolve them: @vmm/x is
      // packages/x/src/index.ts, a subpath entry @vmm/x/y packages/x/src/y.ts.
      build.onResolve({ filter: /^@vmm\// }, (args) => {
        const [name, sub] = args.path.slice('@vmm/'.length).split('/', 2);
        const file = path.join(options.root, 'packages', name!, 'src', `${sub ?? 'index'}.ts`);
        if (!fs.existsSync(file)) return { errors: [{ text: `no workspace package ${args.path}` }] };
        return { path: file };
      });
      // Everything else that is not relative stays outside the bundle, required by absolute path.
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const from = createRequire(args.importer || path.join(options.root, 'package.json'));
        return { path: from.resolve(args.path), external: true };
      });
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!options.instrument(args.path)) return undefined;
        const source = fs.readFileSync(args.path, 'utf8');
        sources.push(source);
        const rel = path.relative(options.root, args.path);
        const cached = readCache(options.cacheDir, rel, source);
        const out =
          cached ??
          writeCache(options.cacheDir, rel, source, () => {
            instrumenter ??= createInstrumenter({
              coverageVariable: '__vmmFuzzIstanbul',
              compact: true,
              esModules: true,
              parserPlugins: ['typescript'],
              coverageGlobalScope: 'globalThis',
              coverageGlobalScopeFunc: false,
            });
            const code = instrumenter.instrumentSync(source, rel);
            return rewrite(code, instrumenter.lastFileCoverage(), rel);
          });
        files.set(rel, { file: rel, lines: out.lines });
        return { contents: out.code, loader: 'ts' };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [options.entry],
    absWorkingDir: options.root,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [plugin],
  });
  return { code: result.outputFiles[0]!.text, files, sources };
}

interface Rewritten {
  code: string;
  lines: number[];
}

/**
 * Istanbul's `cov_x().s[3]++`, `cov_x().f[1]++` and `cov_x().b[2][0]++` become increments of this
 * file's own counter slice: statements first, then functions, then branch arms.
 */
function rewrite(code: string, fc: FileCoverage, rel: string): Rewritten {
  const m = /function (cov_[\w$]+)\(\)\{/.exec(code);
  if (!m) return { code, lines: [] }; // nothing to count (a file of types only)
  const fn = m[1]!.replace(/\$/g, '\\$');
  const lines: number[] = [];
  for (const s of Object.values(fc.statementMap)) lines.push(s.start.line);
  const fnBase = lines.length;
  for (const f of Object.values(fc.fnMap)) lines.push(f.decl.start.line);
  const armBase: number[] = [];
  for (const b of Object.values(fc.branchMap)) {
    armBase.push(lines.length);
    for (const loc of b.locations) lines.push(loc.start.line ?? b.loc.start.line);
  }
  const fnEnd = armBase[0] ?? lines.length;
  const slot = (kind: string, i: number): number => {
    const at = kind === 's' ? i : fnBase + i;
    if (at >= (kind === 's' ? fnBase : fnEnd)) throw new Error(`${rel}: counter ${kind}[${i}] out of range`);
    return at;
  };
  let out = code.replace(
    new RegExp(`${fn}\\(\\)\\.([sf])\\[(\\d+)\\]\\+\\+`, 'g'),
    (_, kind: string, i: string) => {
      return `__fuzzCounters[${slot(kind, Number(i))}]++`;
    },
  );
  out = out.replace(
    new RegExp(`${fn}\\(\\)\\.b\\[(\\d+)\\]\\[(\\d+)\\]\\+\\+`, 'g'),
    (_, k: string, i: string) => {
      const base = armBase[Number(k)];
      const arms = Object.values(fc.branchMap)[Number(k)]?.locations.length ?? 0;
      if (base === undefined || Number(i) >= arms)
        throw new Error(`${rel}: branch counter b[${k}][${i}] out of range`);
      return `__fuzzCounters[${base + Number(i)}]++`;
    },
  );
  if (new RegExp(`${fn}\\(\\)\\.`).test(out))
    throw new Error(`${rel}: an istanbul counter was left unrewritten`);
  const prelude = `const __fuzzCounters = globalThis.${REGISTRY_GLOBAL}(${JSON.stringify(rel)}, ${lines.length});\n`;
  return { code: prelude + out, lines };
}

function cacheFile(dir: string, rel: string, source: string): string {
  const key = crypto
    .createHash('sha1')
    .update(`${REWRITE_VERSION}\0${TOOL_VERSIONS}\0${rel}\0${source}`)
    .digest('hex');
  return path.join(dir, `${key}.json`);
}

function readCache(dir: string | undefined, rel: string, source: string): Rewritten | undefined {
  if (!dir) return undefined;
  try {
    return JSON.parse(fs.readFileSync(cacheFile(dir, rel, source), 'utf8')) as Rewritten;
  } catch {
    return undefined;
  }
}

function writeCache(dir: string | undefined, rel: string, source: string, make: () => Rewritten): Rewritten {
  const out = make();
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    // Written aside and renamed: two workers building at once never read half a file.
    const file = cacheFile(dir, rel, source);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out));
    fs.renameSync(tmp, file);
  }
  return out;
}
