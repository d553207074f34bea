// Builds the freestanding C test guests (test-vms/guests/) with Debian's gcc into
// cacheDir('guests', key), key = contentKey(every source + the flags + the compiler's version):
// a change to any source rebuilds all of them, nothing else does. Progress goes to stderr.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, contentKey, testVmsRoot } from '../cache';

const run = promisify(execFile);

/** The guests' source directory. */
export const guestsSourceDir = path.join(testVmsRoot, 'guests');

/** How a guest is entered: PVH (32-bit, start_info in EBX) or the Linux 64-bit boot protocol (zero page in RSI). */
export type GuestEntry = 'pvh' | 'linux64';

export interface GuestSpec {
  name: string;
  entry: GuestEntry;
  /** The guest's own C files in guests/, each with extra gcc options (default: NAME.c). */
  sources?: readonly { file: string; defines?: readonly string[] }[];
  /** The entry linked besides `entry` (the shim's second entry). */
  alsoEntry?: GuestEntry;
}

/** The virtio-mmio driver (guests/virtio/) every virtio guest links. */
const VIRTIO_DRIVER = [
  'virtio_mmio.c',
  'virtq.c',
  'irq.c',
  'devices.c',
  'common.c',
  'sha256.c',
  'blk.c',
  'blk_report.c',
];

/** The virtio test guests (guests/virtio/NAME.c plus the driver), PVH entry. */
const VIRTIO_GUESTS: readonly GuestSpec[] = [
  'blk-pattern',
  'blk-read',
  'blk-bench',
  'blk-flush-wait',
  'blk-reboot',
  'blk-writer',
  'virtio-rng',
  'virtio-console',
  'virtio-flood',
].map((name) => ({
  name,
  entry: 'pvh' as const,
  sources: [name, ...VIRTIO_DRIVER.map((f) => f.replace(/\.c$/, ''))].map((f) => ({
    file: `virtio/${f}.c`,
  })),
}));

export const GUESTS: readonly GuestSpec[] = [
  { name: 'pvh-info', entry: 'pvh' },
  { name: 'linux64-info', entry: 'linux64' },
  { name: 'echo', entry: 'pvh' },
  { name: 'triple-fault', entry: 'pvh' },
  { name: 'exits', entry: 'pvh' },
  { name: 'lifecycle', entry: 'pvh' },
  { name: 'stream', entry: 'pvh' },
  // linux64-info behind a PVH shim that builds its zero page: QEMU cannot enter a 64-bit ELF,
  // so this is how linux64-info's code runs under QEMU (not a guest for the monitor's tests).
  {
    name: 'linux64-info-pvh',
    entry: 'pvh',
    alsoEntry: 'linux64',
    sources: [
      { file: 'linux64-pvh-shim.c' },
      { file: 'linux64-info.c', defines: ['-Dguest_main=linux64_info_main'] },
    ],
  },
  ...VIRTIO_GUESTS,
];

/** Freestanding, no SSE/x87, no -march (shared/testing.md lists what our hosts cannot emulate). */
export const GUEST_CFLAGS: readonly string[] = [
  '-O2',
  '-ffreestanding',
  '-nostdlib',
  '-static',
  '-fno-pic',
  '-fno-pie',
  '-no-pie',
  '-mno-red-zone',
  '-mgeneral-regs-only',
  '-fno-stack-protector',
  '-fcf-protection=none',
  '-fno-asynchronous-unwind-tables',
  '-Wall',
  '-Wextra',
];

const GUEST_LDFLAGS: readonly string[] = [
  '-Wl,--build-id=none',
  '-Wl,-z,noexecstack',
  '-Wl,-z,max-page-size=4096',
];

/** Each entry's assembly start file and its ELF entry symbol. */
const ENTRIES: Record<GuestEntry, { file: string; symbol: string }> = {
  pvh: { file: 'lib/entry-pvh.S', symbol: 'pvh_start' },
  linux64: { file: 'lib/entry-linux64.S', symbol: 'linux64_start' },
};

/** Assembly every guest links besides its entry file. */
const COMMON_ASM = ['lib/boot-tables.S', 'lib/long-start.S'];

export class GuestBuildError extends Error {
  readonly code = 'EGUESTBUILD';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GuestBuildError';
  }
}

function listSources(): { lib: string[]; all: string[] } {
  const libDir = path.join(guestsSourceDir, 'lib');
  const lib = fs.readdirSync(libDir).map((f) => path.join('lib', f));
  const top = fs.readdirSync(guestsSourceDir).filter((f) => f.endsWith('.c'));
  const virtio = fs.readdirSync(path.join(guestsSourceDir, 'virtio')).map((f) => path.join('virtio', f));
  const all = [...lib, ...top, ...virtio].filter((f) => /\.(c|h|S|ld)$/.test(f)).sort();
  return { lib: lib.filter((f) => f.endsWith('.c')).sort(), all };
}

async function gccVersion(): Promise<string> {
  try {
    return (await run('gcc', ['-dumpfullversion'])).stdout.trim();
  } catch (e) {
    throw new GuestBuildError("test guests: gcc was not found: install Debian's gcc (apt-get install gcc)", {
      cause: e,
    });
  }
}

/** gcc in dir; a failure becomes a GuestBuildError carrying gcc's messages. */
async function gcc(what: string, args: readonly string[], cwd: string): Promise<void> {
  try {
    await run('gcc', [...args], { cwd });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new GuestBuildError(`test guests: gcc failed on ${what}; fix the source:\n${stderr}`, { cause: e });
  }
}

/** One gcc run compiles the library and both entries into objDir (one NAME.o per source). */
async function compileLibrary(libSources: readonly string[], objDir: string): Promise<void> {
  const sources = [...new Set([...Object.values(ENTRIES).map((e) => e.file), ...COMMON_ASM, ...libSources])];
  await gcc(
    'the library',
    [...GUEST_CFLAGS, '-c', ...sources.map((f) => path.join(guestsSourceDir, f))],
    objDir,
  );
}

function objectOf(objDir: string, source: string): string {
  return path.join(objDir, `${path.basename(source).replace(/\.[cS]$/, '')}.o`);
}

async function link(
  spec: GuestSpec,
  libSources: readonly string[],
  objDir: string,
  out: string,
): Promise<void> {
  const entry = ENTRIES[spec.entry];
  const tmp = `${out}.tmp-${process.pid}`;
  const entryFiles = [entry.file, ...(spec.alsoEntry ? [ENTRIES[spec.alsoEntry].file] : [])];
  const objects = [...entryFiles, ...COMMON_ASM, ...libSources].map((f) => objectOf(objDir, f));
  for (const src of spec.sources ?? [{ file: `${spec.name}.c` }]) {
    const obj = path.join(objDir, `${spec.name}--${path.basename(src.file, '.c')}.o`);
    const cflags = [...GUEST_CFLAGS, ...(src.defines ?? [])];
    await gcc(src.file, [...cflags, '-c', '-o', obj, path.join(guestsSourceDir, src.file)], objDir);
    objects.push(obj);
  }
  const args = [
    ...GUEST_CFLAGS,
    '-T',
    path.join(guestsSourceDir, 'lib/link.ld'),
    `-Wl,-e,${entry.symbol}`,
    ...GUEST_LDFLAGS,
    '-o',
    tmp,
    ...objects,
  ];
  try {
    await gcc(`${spec.name}.elf`, args, objDir);
    fs.renameSync(tmp, out); // atomic: a concurrent build never sees half an ELF
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Compiles every guest (only when a source changed) and returns name -> absolute ELF path. */
export async function buildGuests(): Promise<Record<string, string>> {
  const { lib, all } = listSources();
  const version = await gccVersion();
  const key = contentKey(
    all.map((f) => path.join(guestsSourceDir, f)),
    [...all, ...GUEST_CFLAGS, ...GUEST_LDFLAGS, JSON.stringify(GUESTS), `gcc ${version}`],
  );
  const dir = cacheDir('guests', key);
  const paths: Record<string, string> = {};
  for (const g of GUESTS) paths[g.name] = path.join(dir, `${g.name}.elf`);
  const missing = GUESTS.filter((g) => !fs.existsSync(paths[g.name] as string));
  if (missing.length === 0) return paths;
  process.stderr.write(`test-vms: building ${missing.length} test guest(s) into ${dir}\n`);
  const objDir = fs.mkdtempSync(path.join(dir, 'obj-'));
  try {
    await compileLibrary(lib, objDir);
    for (const g of missing) {
      process.stderr.write(`test-vms:   ${g.name}.elf (${g.entry} entry)\n`);
      await link(g, lib, objDir, paths[g.name] as string);
    }
  } finally {
    fs.rmSync(objDir, { recursive: true, force: true });
  }
  return paths;
}
