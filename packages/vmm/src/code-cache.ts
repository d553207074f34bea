// A CommonJS bundle compiled with a V8 code cache kept between runs: a new process (or thread)
// skips compiling what the last one ran. Node 20 caches only scripts, not ES modules (Node 22's
// module.enableCompileCache does those), hence CommonJS bundles: the CLI's (dist/vmm.cjs, through
// @vmm/cli's bin) and the pooled worker's (dist/io/pool-worker.cjs, through
// io/pool-worker-loader.ts), whose load is on the path to a guest's first instruction.
//
// A cache is a file per name (a command, a thread), bundle path and build, Node version and flag
// set, in $XDG_CACHE_HOME/vmm/code-cache (VMM_CODE_CACHE_DIR overrides; VMM_CODE_CACHE=off turns
// it off); writing one removes the caches of the same bundle path's earlier builds.
// V8 checks what it is given and rejects a cache that does not fit; the file's name ties it to the
// bundle's size, mtime and inode, since V8's own check looks only at the source's length. Nothing
// here may stop the program: a missing bundle, a cache that cannot be read or written, a bundle
// that does not load all return undefined, and the caller loads its modules instead. A cache is
// code that runs: it is read only from a directory of this user's that no one else can write.
// VMM_DEBUG says which way it went. A bundle is ASCII (esbuild's output; the CLI's test checks).
import fs from 'node:fs';
import { createRequire, Module } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { debugLine } from './log/debug';

/**
 * How our bundles begin and end (their builds' banner and footer): a CommonJS module already in
 * Node's function wrapper. Wrapping 550 KB here (Module.wrap) made a second copy of the source,
 * 3-4 ms of the CLI's start on a loaded host; a bundle that starts with this is compiled as it is.
 */
export const BUNDLE_WRAPPER = {
  start: '(function (exports, require, module, __filename, __dirname) {',
  end: '\n})',
};

export interface CodeCacheOptions {
  /** What the cache is for, the start of its file name: one per kind of run (its own functions). */
  name: string;
  /**
   * When the cache is written (when there was none, or V8 rejected it): 'exit', at the process's
   * exit, so that it holds every function the run compiled (the CLI); 'loaded', right after the
   * bundle's top level ran (a thread that goes on to install a seccomp filter, after which it
   * could not write it).
   */
  write: 'exit' | 'loaded';
  /** The bundle's `require` (default: Node's, from the bundle's folder). */
  require?: NodeJS.Require;
}

/** The exports of the CommonJS bundle `file`, run with its code cache; undefined if it cannot be. */
export function loadCodeCached<T>(file: string, options: CodeCacheOptions): T | undefined {
  if (process.env.VMM_CODE_CACHE === 'off') return fallBack('off');
  let source: string;
  let name: CacheName;
  try {
    name = cacheName(options.name, file, '.v8');
    // Read as latin1: the same string for an ASCII file, which esbuild writes (it escapes anything
    // else, its default charset), without UTF-8's decoding: 1.6 ms less of the CLI's 550 KB here.
    source = fs.readFileSync(file, 'latin1');
  } catch {
    return fallBack(`no bundle at ${file}`);
  }
  // The user's cache, else (a read-only home) one of this user's in the temporary directory.
  const places = cacheDirs().map((d) => path.join(d, name.file));
  let cacheFile = places[0]!;
  let cachedData: Buffer | undefined;
  for (const place of places) {
    try {
      if (!privateDir(path.dirname(place))) continue;
      cachedData = fs.readFileSync(place);
      cacheFile = place;
      break;
    } catch {
      // none there: this run writes one
    }
  }
  let exports: T;
  let script: vm.Script;
  try {
    script = new vm.Script(source.startsWith(BUNDLE_WRAPPER.start) ? source : Module.wrap(source), {
      filename: file,
      cachedData,
      importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    const mod = { exports: {} as T };
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(
      mod.exports,
      mod.exports,
      options.require ?? createRequire(file),
      mod,
      file,
      path.dirname(file),
    );
    exports = mod.exports;
  } catch (e) {
    return fallBack(`bundle ${file} did not load (${(e as Error).message})`);
  }
  if (cachedData && !script.cachedDataRejected) {
    debug(`used ${cacheFile}`);
    return exports;
  }
  const write = (): void => {
    const written = writePrivate(cachedData ? [cacheFile] : places, script.createCachedData(), name.prefix);
    debug(
      written.place
        ? `${cachedData ? 'rejected, rewritten' : 'written'}: ${written.place}`
        : `not written (${written.why})`,
    );
  };
  if (options.write === 'exit') process.once('exit', write);
  else write();
  return exports;
}

/**
 * A short text kept beside the code caches for the bundle `file` (a fact that a later run of the
 * same build can reuse instead of finding it again), or undefined. Read from a private directory
 * only, as a cache is; none with VMM_CODE_CACHE=off.
 */
export function readCacheNote(note: string, file: string): string | undefined {
  if (process.env.VMM_CODE_CACHE === 'off') return undefined;
  try {
    const { file: name } = cacheName(note, file, '.txt');
    for (const dir of cacheDirs()) {
      if (!privateDir(dir)) continue;
      try {
        return fs.readFileSync(path.join(dir, name), 'utf8');
      } catch {
        // not in this one
      }
    }
  } catch {
    // no bundle: no note
  }
  return undefined;
}

/** Keep `text` as the note `note` of the bundle `file` (readCacheNote); failures only said (VMM_DEBUG). */
export function writeCacheNote(note: string, file: string, text: string): void {
  if (process.env.VMM_CODE_CACHE === 'off') return;
  try {
    const name = cacheName(note, file, '.txt');
    const written = writePrivate(
      cacheDirs().map((d) => path.join(d, name.file)),
      text,
      name.prefix,
    );
    debug(written.place ? `note written: ${written.place}` : `note not written (${written.why})`);
  } catch {
    // the bundle is gone: nothing to note
  }
}

interface CacheName {
  /**
   * What every cache of this kind, bundle path, Node and flags begins with: another file with it
   * is of an earlier build of the bundle (an upgrade, a rebuild), dead, and removed when this one
   * is written. Other paths (another install) and other Node versions keep theirs.
   */
  prefix: string;
  file: string;
}

/**
 * The cache file's name: its kind, the bundle's path (hashed), Node's version, arch and flags,
 * then the bundle's build, by size, mtime and inode (V8's own check looks only at the source's
 * length).
 */
function cacheName(kind: string, file: string, ext: string): CacheName {
  const st = fs.statSync(file);
  const prefix = `${kind}-${fnv1a(path.resolve(file))}-${process.version}-${process.arch}-${fnv1a(process.execArgv.join('\0'))}-`;
  return { prefix, file: `${prefix}${st.size}-${Math.trunc(st.mtimeMs)}-${st.ino}${ext}` };
}

/**
 * Write `data` to the first of `places` whose directory can be made this user's alone (a temporary
 * file, then a rename: a reader never sees half), then remove that directory's files that begin
 * with `prefix` (earlier builds'). The place written, or why none was.
 */
function writePrivate(
  places: readonly string[],
  data: Uint8Array | string,
  prefix: string,
): { place?: string; why?: string } {
  const why: string[] = [];
  for (const place of places) {
    const dir = path.dirname(place);
    const tmp = `${place}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      makeDirs(dir);
      if (!privateDir(dir)) throw new Error(`${dir} is not this user's alone`);
      fs.writeFileSync(tmp, data, { mode: 0o600 });
      fs.renameSync(tmp, place);
    } catch (e) {
      why.push((e as Error).message);
      fs.rmSync(tmp, { force: true });
      continue;
    }
    pruneEarlier(dir, prefix, path.basename(place));
    return { place };
  }
  return { why: why.join('; ') };
}

/** Remove `dir`'s files that begin with `prefix` and end as `keep` does (not another writer's .tmp), except `keep`. */
function pruneEarlier(dir: string, prefix: string, keep: string): void {
  try {
    for (const entry of fs.readdirSync(dir)) {
      if (entry === keep || !entry.startsWith(prefix) || path.extname(entry) !== path.extname(keep)) continue;
      try {
        fs.unlinkSync(path.join(dir, entry));
        debug(`removed ${entry} (an earlier build's)`);
      } catch {
        // gone already, or not ours to remove
      }
    }
  } catch {
    // cannot list it: nothing pruned
  }
}

function cacheDirs(): string[] {
  const given = process.env.VMM_CODE_CACHE_DIR;
  if (given) return [given];
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const uid = process.getuid?.() ?? 'user';
  return [path.join(base, 'vmm', 'code-cache'), path.join(os.tmpdir(), `vmm-code-cache-${uid}`)];
}

/**
 * Compiled code is run as it is found: a cache is taken only from a directory that is this
 * user's and that no one else may write (the temporary directory is shared).
 */
function privateDir(dir: string): boolean {
  try {
    const st = fs.lstatSync(dir);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * mkdir -p, one level at a time, private to this user. Not fs.mkdirSync's `recursive`: on some
 * file systems (/proc: mkdir there says ENOENT) it loops for ever.
 */
function makeDirs(dir: string): void {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let at: string = path.sep;
  for (const part of parts) {
    at = path.join(at, part);
    try {
      fs.mkdirSync(at, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** FNV-1a of `text`, in hex: a short, stable tag for a path or a flag set (V8 rejects a cache made under other flags). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16);
}

function debug(line: string): void {
  debugLine('code cache', line);
}

/** Not from the bundle: say why (VMM_DEBUG); the caller loads the modules. */
function fallBack(why: string): undefined {
  debug(`${why}: the modules instead`);
  return undefined;
}
