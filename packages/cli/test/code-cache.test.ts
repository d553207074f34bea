// The built `vmm` (dist/bin.cjs) runs the CLI from its bundle (dist/vmm.cjs) with a V8 code cache:
// the first run writes the cache, the next one uses it; a damaged cache is rejected and written
// again; VMM_CODE_CACHE=off loads the modules. Each way prints the same. Writing a cache removes
// the caches of the same bundle's earlier builds. The bundle finds what its modules find next to
// themselves (package.json for --version, the guest agent's binary). Beside the cache, a note of the
// koffi.node koffi's loader chose: the next run's main thread and first vCPU thread load it
// themselves. `vmm run` starts its first vCPU thread before it reads the bundle. The bundles require
// each Node module once, are ASCII (read as latin1), and come in Node's function wrapper.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUNDLE_WRAPPER } from '@vmm/vmm/code-cache';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'packages/cli/dist/bin.cjs');
const built = fs.existsSync(bin) && fs.existsSync(path.join(root, 'packages/cli/dist/vmm.cjs'));
if (!built) console.warn('SKIP (packages/cli/dist is not built: pnpm build): the code-cached vmm');

describe.skipIf(!built)('vmm from its code-cached bundle', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-code-cache-'));
  const cacheDir = path.join(dir, 'cache');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vmm = (env: Record<string, string>, ...args: string[]) => {
    const r = spawnSync('node', [bin, ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, VMM_DEBUG: '1', VMM_CODE_CACHE_DIR: cacheDir, ...env },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const cacheFiles = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);
  const codeCaches = () => cacheFiles().filter((f) => f.endsWith('.v8'));

  it('writes the cache on the first run, uses it on the next, rewrites a damaged one; off loads the modules; the same output each way', () => {
    const first = vmm({}, 'run', '--help');
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/^vmm: code cache: written: .*\.v8$/m);
    expect(codeCaches()).toHaveLength(1);
    const file = path.join(cacheDir, codeCaches()[0]!);
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);

    const second = vmm({}, 'run', '--help');
    expect(second.err).toMatch(/^vmm: code cache: used /m);
    expect(second.out).toBe(first.out);

    fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 0x5a));
    const third = vmm({}, 'run', '--help');
    expect(third.err).toMatch(/^vmm: code cache: rejected, rewritten: /m);
    expect(third.out).toBe(first.out);
    expect(fs.readFileSync(file).every((b) => b === 0x5a)).toBe(false);
    expect(vmm({}, 'run', '--help').err).toMatch(/^vmm: code cache: used /m);

    const off = vmm({ VMM_CODE_CACHE: 'off' }, 'run', '--help');
    expect(off.err).toMatch(/^vmm: code cache: off: the modules instead$/m);
    expect(off.out).toBe(first.out);
  });

  it('finds its package.json and the guest agent binary where the packages are', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'packages/cli/package.json'), 'utf8')) as {
      version: string;
    };
    const v = vmm({}, '--version');
    expect(v.err).toMatch(/^vmm: code cache: (used|written)/m);
    expect(v.out.trim()).toContain(version);
    // The agent is read (and joins the initramfs) before the kernel is loaded: a kernel that is
    // not one fails after it, with the loader's message and nothing about the agent.
    const kernel = path.join(dir, 'not-a-kernel');
    const initrd = path.join(dir, 'initrd');
    fs.writeFileSync(kernel, Buffer.alloc(4096, 0x41));
    fs.writeFileSync(initrd, Buffer.alloc(512));
    const r = vmm({}, 'run', '--kernel', kernel, '--initrd', initrd, '--vsock', 'cid=3,agent=on');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^vmm: .*not a format we can boot/m);
    expect(r.err).not.toMatch(/agent/i);
  });

  it('keeps one cache for `vmm run` and another for `vmm run --restore`: they run different code', () => {
    for (const f of codeCaches()) fs.rmSync(path.join(cacheDir, f));
    const restore = vmm({}, 'run', `--restore=source_url=file://${path.join(dir, 'no-snapshot')}`);
    expect(restore.err).toMatch(/holds no snapshot/);
    expect(codeCaches().filter((f) => f.startsWith('cli-run-restore-'))).toHaveLength(1);
    expect(vmm({}, 'run', '--help').code).toBe(0);
    expect(codeCaches().filter((f) => /^cli-run-[0-9a-f]+-/.test(f))).toHaveLength(1);
    const again = vmm({}, 'run', '--restore', `source_url=file://${path.join(dir, 'no-snapshot')}`);
    expect(again.err).toMatch(/^vmm: code cache: used .*cli-run-restore-/m);
  });

  it("removes the caches of the same bundle's earlier builds when it writes one, not another install's", () => {
    expect(vmm({}, 'run', '--help').code).toBe(0);
    const current = cacheFiles().find((f) => f.startsWith('cli-run-'))!;
    expect(current).toMatch(/^cli-run-[0-9a-f]+-v.*-\d+-\d+-\d+\.v8$/);
    const earlier = current.replace(/-\d+-\d+-\d+\.v8$/, '-1-2-3.v8');
    const otherInstall = current.replace(/^cli-run-[0-9a-f]+-/, 'cli-run-0-');
    fs.renameSync(path.join(cacheDir, current), path.join(cacheDir, earlier));
    fs.writeFileSync(path.join(cacheDir, otherInstall), 'another install of vmm');
    const r = vmm({}, 'run', '--help');
    expect(r.err).toMatch(/^vmm: code cache: written: /m);
    expect(r.err).toContain(`removed ${earlier} (an earlier build's)`);
    expect(cacheFiles()).toContain(current);
    expect(cacheFiles()).not.toContain(earlier);
    expect(cacheFiles()).toContain(otherInstall);
  });

  it("notes the koffi.node koffi's loader chose; the next run's main thread and the vCPU thread it starts load it themselves; a note of anything else is replaced", () => {
    // A kernel that is not one: `vmm run` loads koffi and starts the second vCPU's thread (the
    // first one's starts only once the guest runs) before it fails (on any host, with or without
    // /dev/kvm), and the process waits for that thread's load.
    const kernel = path.join(dir, 'not-a-kernel');
    fs.writeFileSync(kernel, Buffer.alloc(4096, 0x41));
    const run = (env: Record<string, string> = {}) => vmm(env, 'run', '--kernel', kernel, '--cpus', 'boot=2');
    const nativeLines = (err: string) =>
      err.split('\n').filter((l) => l.startsWith('vmm: koffi: native module from '));
    const notes = () => cacheFiles().filter((f) => f.startsWith('note-koffi-native-'));
    for (const f of notes()) fs.rmSync(path.join(cacheDir, f));

    const first = run();
    expect(first.err).toMatch(/not a format we can boot/);
    expect(first.err).toMatch(/^vmm: code cache: note written: .*note-koffi-native-.*\.txt$/m);
    expect(notes()).toHaveLength(1);
    const note = path.join(cacheDir, notes()[0]!);
    const chosen = fs.readFileSync(note, 'utf8');
    expect(chosen).toMatch(/\/koffi\.node$/);
    expect(fs.existsSync(chosen)).toBe(true);
    // No note yet: the main thread through koffi's loader; the vCPU thread, started after that,
    // from the file the loader chose.
    expect(nativeLines(first.err)).toEqual([`vmm: koffi: native module from ${chosen}`]);

    const second = run();
    expect(second.err).toMatch(/not a format we can boot/);
    // One thread, started by Vmm.create from the bundle; none by the binary before it.
    const lines = second.err.split('\n');
    expect(lines.filter((l) => l.startsWith('vmm: worker pool: '))).toEqual([
      'vmm: worker pool: thread 1 started',
    ]);
    const bundleRead = lines.findIndex((l) => /^vmm: code cache: used .*cli-run-/.test(l));
    expect(bundleRead).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf('vmm: worker pool: thread 1 started')).toBeGreaterThan(bundleRead);
    expect(nativeLines(second.err)).toEqual([
      `vmm: koffi: native module from ${chosen}`,
      `vmm: koffi: native module from ${chosen}`,
    ]);
    expect(second.err).not.toMatch(/note written/);

    const fake = path.join(dir, 'fake', 'koffi.node');
    fs.mkdirSync(path.dirname(fake), { recursive: true });
    fs.writeFileSync(fake, 'not a shared object');
    fs.writeFileSync(note, fake);
    const third = run();
    expect(third.err).toMatch(/not a format we can boot/);
    // The main thread falls back to koffi's loader; the thread takes the file that loader chose.
    expect(nativeLines(third.err)).toEqual([`vmm: koffi: native module from ${chosen}`]);
    expect(third.err).toContain(`vmm: koffi: ${fake} did not load`);
    expect(third.err).toMatch(/^vmm: code cache: note written: /m);
    expect(fs.readFileSync(note, 'utf8')).toBe(chosen);

    for (const f of notes()) fs.rmSync(path.join(cacheDir, f));
    const off = run({ VMM_CODE_CACHE: 'off' });
    expect(off.err).toMatch(/not a format we can boot/);
    expect(notes()).toEqual([]);
  });

  it("requires each Node module once in its bundles (no module makes its own copy of one's exports); they are ASCII, the code-cached ones already wrapped", () => {
    // esbuild's `__toESM(require("fs"), 1)`, one per importing module, each a new object with a
    // getter per export: tools/build/required-once.ts routes the imports that made them.
    const bundles = [
      'packages/cli/dist/bin.cjs',
      'packages/cli/dist/vmm.cjs',
      'packages/vmm/dist/io/pool-worker.cjs',
      'packages/vmm/dist/io/pool-worker-loader.cjs',
    ];
    for (const b of bundles) {
      const bytes = fs.readFileSync(path.join(root, b));
      // loadCodeCached reads a bundle as latin1, which is right for ASCII only.
      expect(
        bytes.every((c) => c < 0x80),
        `${b} is ASCII`,
      ).toBe(true);
      const text = bytes.toString('latin1');
      expect(text.match(/__toESM\(require\("[^"]+"\)/g) ?? [], b).toEqual([]);
      expect(text, b).toMatch(/require\("node:fs"\)/);
    }
    // The code-cached two come in Node's function wrapper: compiled as they are, not copied into one.
    for (const b of ['packages/cli/dist/vmm.cjs', 'packages/vmm/dist/io/pool-worker.cjs']) {
      const text = fs.readFileSync(path.join(root, b), 'latin1');
      expect(text.startsWith(BUNDLE_WRAPPER.start), b).toBe(true);
      expect(text.trimEnd().endsWith(BUNDLE_WRAPPER.end.trim()), b).toBe(true);
    }
  });
});
