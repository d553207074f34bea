// The CLI from one bundled file (dist/vmm.cjs, every @vmm/* package inlined) compiled with a V8
// code cache kept between runs (@vmm/vmm/code-cache): a new process skips compiling what the last
// one ran, a third of what `vmm` costs beyond Node's own start (docs/benchmarks.md). One cache per
// command: a cache holds what its run compiled (`vmm run`'s the VM's code, --help's not), written
// at exit; `vmm run --restore` has its own (a restore runs other code than a boot, and a cache
// that was used is never rewritten). Anything that keeps the bundle from running falls back to the modules (bin.ts).
//
// Beside the cache, a note of the koffi.node that koffi's loader chose in the last run: this run
// loads that file itself and hands it to the vCPU threads it starts; they and it skip koffi's
// loader (@vmm/vmm/koffi-native). A note that names anything
// but koffi of our major version is not taken, and the loader's choice replaces it at exit.
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadCodeCached, readCacheNote, writeCacheNote } from '@vmm/vmm/code-cache';
import { announceKoffiNative, koffiNativeOfLoader, requireWithKoffi } from '@vmm/vmm/koffi-native';

const KOFFI_NOTE = 'note-koffi-native';

interface Bundle {
  start(argv: string[]): Promise<void>;
}

/** Run the CLI from the bundle `file` with `argv`; false (nothing run) when it cannot be. */
export function runCodeCached(file: string, argv: string[]): boolean {
  const named = /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : 'other';
  const restores = argv.some((a) => a === '--restore' || a.startsWith('--restore='));
  const command = named === 'run' && restores ? 'run-restore' : named;
  const note = readCacheNote(KOFFI_NOTE, file);
  const noted = note && path.isAbsolute(note) && note.endsWith('/koffi.node') ? note : undefined;
  announceKoffiNative(noted);
  process.once('exit', () => {
    const chosen = koffiNativeOfLoader();
    if (chosen && chosen !== noted) writeCacheNote(KOFFI_NOTE, file, chosen);
  });
  const bundle = loadCodeCached<Bundle>(file, {
    name: `cli-${command}`,
    write: 'exit',
    require: requireWithKoffi(bundleRequire(file), noted),
  });
  if (typeof bundle?.start !== 'function') return false;
  void bundle.start(argv);
  return true;
}

/**
 * The bundle's `require`: Node's, from the bundle's folder, except koffi (external to the bundle:
 * a native module), which is @vmm/hypervisor's dependency and resolves from there.
 */
function bundleRequire(file: string): NodeJS.Require {
  const own = createRequire(file);
  let hypervisor: NodeJS.Require | undefined;
  const req = ((id: string): unknown => {
    if (id !== 'koffi') return own(id);
    hypervisor ??= createRequire(own.resolve('@vmm/hypervisor/package.json'));
    return hypervisor(id);
  }) as NodeJS.Require;
  return Object.assign(req, { resolve: own.resolve, cache: own.cache, main: own.main });
}
