// What a shared directory is served with, checked once: the user's options with their defaults.
import { FsShareError } from './errors';
import type { IdMapRange } from './idmap';

/**
 * How long the guest may trust what it was told:
 * - `never`: nothing is cached (entry and attribute timeouts 0, direct I/O, no READDIRPLUS);
 *   every host change is seen at once.
 * - `auto`: names and attributes for 1 s, file data until the file is opened again.
 * - `always`: names and attributes for a day, file data and directory listings kept across opens
 *   (for a share only the guest changes).
 */
export type FsCacheMode = 'never' | 'auto' | 'always';

export interface FuseServerOptions {
  /** The host directory to share. The guest sees it and nothing outside it. */
  root: string;
  /** Refuse every change with EROFS. */
  readonly?: boolean;
  cache?: FsCacheMode;
  /** uid ranges guest <-> host (for a server run by an unprivileged host user); none: identity. */
  uidMap?: IdMapRange[];
  gidMap?: IdMapRange[];
  /** Largest READ/WRITE payload (bytes, a multiple of 4096, at most 1 MiB: 256 pages; default 128 KiB). */
  maxWrite?: number;
  /** Most host inodes the guest may hold at once (each is an O_PATH fd, so RLIMIT_NOFILE must
   *  allow as many); then LOOKUP gets ENFILE. */
  maxNodes?: number;
  /** Most files and directories the guest may hold open at once; then OPEN gets EMFILE. */
  maxHandles?: number;
  /** Largest file size the guest may make (WRITE, FALLOCATE, SETATTR size); beyond: EFBIG. */
  maxFileSize?: number;
  /** Where the server's rare warnings go (rate-limited per `kind`); default console.warn. */
  log?: (line: string, kind: string) => void;
}

export interface ResolvedFsOptions {
  root: string;
  readonly: boolean;
  cache: FsCacheMode;
  uidMap: IdMapRange[];
  gidMap: IdMapRange[];
  maxWrite: number;
  maxNodes: number;
  maxHandles: number;
  maxFileSize: number;
  log: (line: string, kind: string) => void;
}

/** 128 KiB: larger WRITEs measured slower through /dev/fuse here (each is copied twice; 1 MiB
 *  requests fall out of the CPU caches), see docs/benchmarks.md. */
export const DEFAULT_MAX_WRITE = 128 * 1024;
/** 256 pages: the most a FUSE request carries (fs.fuse.max_pages_limit's default). */
export const MAX_MAX_WRITE = 1024 * 1024;
export const DEFAULT_MAX_NODES = 65536;
export const DEFAULT_MAX_HANDLES = 4096;

function positiveInt(name: string, v: number | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1 || v > max)
    throw new FsShareError(
      'FS_OPTION',
      `${name}=${v} is not a whole number from 1 to ${max}: give one in range`,
    );
  return v;
}

function ranges(name: string, rs: IdMapRange[] | undefined): IdMapRange[] {
  for (const r of rs ?? []) {
    for (const k of ['guest', 'host', 'count'] as const)
      if (!Number.isSafeInteger(r[k]) || r[k] < 0 || r[k] > 0xffff_ffff)
        throw new FsShareError('FS_OPTION', `${name}: ${k}=${r[k]} is not a 32-bit id: give 0 to 4294967295`);
  }
  return rs ?? [];
}

export function resolveFsOptions(o: FuseServerOptions): ResolvedFsOptions {
  if (typeof o.root !== 'string' || o.root === '')
    throw new FsShareError('FS_ROOT', 'no shared directory given: set root to a host directory');
  const cache = o.cache ?? 'auto';
  if (cache !== 'never' && cache !== 'auto' && cache !== 'always')
    throw new FsShareError('FS_OPTION', `cache=${String(cache)}: use never, auto or always`);
  const maxWrite = positiveInt('maxWrite', o.maxWrite, DEFAULT_MAX_WRITE, MAX_MAX_WRITE);
  if (maxWrite % 4096 !== 0)
    throw new FsShareError('FS_OPTION', `maxWrite=${maxWrite} is not a multiple of 4096: round it`);
  return {
    root: o.root,
    readonly: o.readonly === true,
    cache,
    uidMap: ranges('uidMap', o.uidMap),
    gidMap: ranges('gidMap', o.gidMap),
    maxWrite,
    maxNodes: positiveInt('maxNodes', o.maxNodes, DEFAULT_MAX_NODES, 1 << 24),
    maxHandles: positiveInt('maxHandles', o.maxHandles, DEFAULT_MAX_HANDLES, 1 << 24),
    maxFileSize: positiveInt('maxFileSize', o.maxFileSize, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    log: o.log ?? ((line) => console.warn(line)),
  };
}
