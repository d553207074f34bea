// The CLI from one bundled file (dist/vmm.cjs, every @vmm/* package inlined) compiled with a V8
// code cache kept between runs (@vmm/vmm/code-cache): a new process skips compiling what the last
// one ran, a third of what `vmm` costs beyond Node's own start (docs/benchmarks.md). One cache per
// command: a cache holds what its run compiled (`vmm run`'s the VM's code, --help's not), written
// at exit. Anything that keeps the bundle from running falls back to the modules (bin.ts).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { loadCodeCached } from '@vmm/vmm/code-cache';

interface Bundle {
  start(argv: string[]): Promise<void>;
}

/** Run the CLI from the bundle at `url` with `argv`; false (nothing run) when it cannot be. */
export function runCodeCached(url: URL, argv: string[]): boolean {
  const file = fileURLToPath(url);
  const command = /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : 'other';
  const bundle = loadCodeCached<Bundle>(file, {
    name: `cli-${command}`,
    write: 'exit',
    require: bundleRequire(file),
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
