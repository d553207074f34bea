// Builds the minimal test kernel from Debian's linux-source-6.1 with test-vms/kernel/config
// and test-vms/kernel/patches/*.patch, into the cache (never the repository):
//   kernel/src-<srcKey>/    the extracted, patched source (one per tarball + patch set)
//   kernel/build-<srcKey>/  the object tree (make O=...): a config change rebuilds incrementally
//   kernel/<key>/           vmlinux (PVH entry), bzImage and .config of one config + patch set
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, contentKey, testVmsRoot } from '../cache';
import { droppedOptions, parseKconfig } from './config';
import { KernelBuildError } from './errors';
import { withLock } from './lock';
import { run } from './run';

export interface KernelArtifacts {
  /** Uncompressed ELF with the PVH entry note. */
  vmlinux: string;
  /** The same kernel as a bzImage (Documentation/arch/x86/boot.rst). */
  bzImage: string;
  /** The final .config it was built with. */
  config: string;
}

export const KERNEL_TARBALL = process.env.VMM_KERNEL_TARBALL ?? '/usr/src/linux-source-6.1.tar.xz';
const kernelSrcDir = path.join(testVmsRoot, 'kernel');
const READY = '.vmm-ready';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The fragment and the patches, in the order they apply. */
export function kernelInputs(): { fragment: string; patches: string[] } {
  const fragment = path.join(kernelSrcDir, 'config');
  const dir = path.join(kernelSrcDir, 'patches');
  const patches = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => path.join(dir, f));
  return { fragment, patches };
}

/** What identifies the tarball: its name, size and modification time (a new package changes them). */
function tarballId(): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(KERNEL_TARBALL);
  } catch (e) {
    throw new KernelBuildError(
      'ESOURCE',
      `kernel: ${KERNEL_TARBALL} is missing; install Debian's linux-source-6.1 (apt-get install linux-source-6.1)`,
      { cause: e },
    );
  }
  return `${path.basename(KERNEL_TARBALL)}:${st.size}:${Math.trunc(st.mtimeMs)}`;
}

export async function buildKernel(): Promise<KernelArtifacts> {
  const { fragment, patches } = kernelInputs();
  const tarball = tarballId();
  const key = contentKey([fragment, ...patches], [tarball]);
  const out = cacheDir('kernel', key);
  const artifacts: KernelArtifacts = {
    vmlinux: path.join(out, 'vmlinux'),
    bzImage: path.join(out, 'bzImage'),
    config: path.join(out, 'config'),
  };
  const ready = (): boolean => Object.values(artifacts).every((f) => fs.existsSync(f));
  if (ready()) return artifacts;
  return withLock(path.join(cacheDir('kernel'), 'lock'), 'kernel', async () => {
    if (!ready()) await build(fragment, patches, tarball, artifacts);
    return artifacts;
  });
}

/** Configures, checks and builds; the caller holds the lock. */
async function build(
  fragment: string,
  patches: readonly string[],
  tarball: string,
  artifacts: KernelArtifacts,
) {
  const out = path.dirname(artifacts.vmlinux);
  const srcKey = contentKey(patches, [tarball]);
  const src = await prepareSource(srcKey, patches);
  const build = cacheDir('kernel', `build-${srcKey}`);
  const started = Date.now();

  log(`kernel: configuring (tinyconfig + ${path.relative(testVmsRoot, fragment)}) in ${build}`);
  await run('make', ['-C', src, `O=${build}`, 'tinyconfig'], { label: 'kernel: tinyconfig' });
  await run('scripts/kconfig/merge_config.sh', ['-m', '-O', build, path.join(build, '.config'), fragment], {
    cwd: src,
    label: 'kernel: merge_config',
  });
  await run('make', ['-C', src, `O=${build}`, 'olddefconfig'], { label: 'kernel: olddefconfig' });
  const finalConfig = path.join(build, '.config');
  const dropped = droppedOptions(
    parseKconfig(fs.readFileSync(fragment, 'utf8')),
    parseKconfig(fs.readFileSync(finalConfig, 'utf8')),
  );
  if (dropped.length > 0) {
    throw new KernelBuildError(
      'ECONFIG',
      `kernel: make olddefconfig did not keep ${dropped.length} option(s) of test-vms/kernel/config ` +
        `(a missing dependency or a select elsewhere); fix the fragment:\n  ${dropped.join('\n  ')}`,
    );
  }

  const jobs = String(os.availableParallelism());
  log(`kernel: make -j${jobs} vmlinux bzImage (minutes on a clean tree; a line every 10 s)`);
  await run('make', ['-C', src, `O=${build}`, `-j${jobs}`, 'vmlinux', 'bzImage'], {
    label: 'kernel: make',
    every: 10,
  });

  // Copy through temporary names, then rename: a reader never sees a half-written artefact.
  const copies: [string, string][] = [
    [path.join(build, 'vmlinux'), artifacts.vmlinux],
    [path.join(build, 'arch/x86/boot/bzImage'), artifacts.bzImage],
    [finalConfig, artifacts.config],
  ];
  for (const [from, to] of copies) {
    fs.copyFileSync(from, `${to}.tmp`);
    fs.renameSync(`${to}.tmp`, to);
  }
  log(`kernel: built in ${Math.round((Date.now() - started) / 1000)} s: ${out}`);
}

/** Extracts the tarball once per patch set and applies the patches; a marker file says it finished. */
async function prepareSource(srcKey: string, patches: readonly string[]): Promise<string> {
  const src = path.join(cacheDir('kernel'), `src-${srcKey}`);
  if (fs.existsSync(path.join(src, READY))) return src;
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  log(`kernel: extracting ${KERNEL_TARBALL} into ${src} (about a minute)`);
  await run('tar', ['-xf', KERNEL_TARBALL, '-C', src, '--strip-components=1'], { label: 'kernel: tar' });
  for (const p of patches) {
    log(`kernel: applying ${path.basename(p)}`);
    try {
      await run('patch', ['-p1', '--forward', '--batch', '-i', p], { cwd: src, label: `kernel: patch` });
    } catch (e) {
      throw new KernelBuildError(
        'EPATCH',
        `kernel: ${path.basename(p)} does not apply to ${KERNEL_TARBALL}; refresh the patch:\n${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  fs.writeFileSync(path.join(src, READY), `${srcKey}\n`);
  return src;
}
