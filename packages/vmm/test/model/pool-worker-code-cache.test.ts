// The built package starts a pooled worker (a vCPU's thread) from its
// CommonJS bundle with a V8 code cache (io/pool-worker-loader.ts): the first start writes the
// cache before the thread takes any role, the next uses it, a damaged one is rejected and written
// again, and VMM_CODE_CACHE=off (or a bundle that cannot run) loads the ES module. The thread
// loads either way. Tier 2 and 4 run every vCPU of the built CLI through it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../../..');
const dist = path.join(root, 'packages/vmm/dist');
const built = ['warm.js', 'io/pool-worker-loader.cjs', 'io/pool-worker.cjs', 'io/pool-worker.js'].every((f) =>
  fs.existsSync(path.join(dist, f)),
);
if (!built) console.warn('SKIP (packages/vmm/dist is not built: pnpm build): the code-cached pooled worker');

/** A process that starts one pooled worker, waits until it has loaded, and lets it go. */
const child = `
const { warmThreads, warmThreadStats, releaseWarmThreads } = await import(${JSON.stringify(path.join(dist, 'warm.js'))});
warmThreads(1);
const until = Date.now() + 50000;
while (warmThreadStats().idleLoaded < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
process.stdout.write(JSON.stringify(warmThreadStats()));
await releaseWarmThreads();
`;

describe.skipIf(!built)('the pooled worker from its code-cached bundle (built package)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-pool-cache-'));
  const cacheDir = path.join(dir, 'cache');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** Run `script` (an ES module) in a new node with this test's cache folder and VMM_DEBUG. */
  const node = (script: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, VMM_DEBUG: '1', VMM_CODE_CACHE_DIR: cacheDir, ...env },
    });
  /**
   * The start of a script that runs the loader in a Worker by hand, as `w`, with `workerData` (an
   * expression, evaluated after `before`).
   */
  const loaderWorker = (workerData: string, before = '') => `
      import { Worker } from 'node:worker_threads';
      ${before}
      const w = new Worker(${JSON.stringify(path.join(dist, 'io/pool-worker-loader.cjs'))}, { workerData: ${workerData} });`;
  const start = (env: Record<string, string> = {}) => {
    const r = node(child, env);
    expect(r.status, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout) as { idleLoaded: number; failed: number };
    expect(stats).toMatchObject({ idleLoaded: 1, failed: 0 });
    return r.stderr;
  };
  const caches = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);

  it('writes the cache at the first start, uses it at the next, rewrites a damaged one; off loads the ES module', () => {
    expect(start()).toMatch(/^vmm: code cache: written: .*\/pool-worker-[^/]*\.v8$/m);
    expect(caches()).toHaveLength(1);
    const file = path.join(cacheDir, caches()[0]!);
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    expect(start()).toMatch(/^vmm: code cache: used .*\/pool-worker-/m);
    fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 0x5a));
    expect(start()).toMatch(/^vmm: code cache: rejected, rewritten: /m);
    expect(fs.readFileSync(file).every((b) => b === 0x5a)).toBe(false);
    expect(start()).toMatch(/^vmm: code cache: used /m);
    expect(start({ VMM_CODE_CACHE: 'off' })).toMatch(/^vmm: code cache: off: the modules instead$/m);
  });

  it("takes koffi from the native module its process loaded, skipping koffi's loader; a file that is not it falls back to that loader", () => {
    // A process that has loaded koffi (the library's case: Vmm.create starts threads after
    // @vmm/hypervisor is in): its pooled worker loads (binding poll(2) through that koffi) from it.
    const withKoffi = `import { createRequire } from 'node:module';
      createRequire(${JSON.stringify(path.join(dist, 'index.js'))})('koffi');\n${child}`;
    const r = node(withKoffi);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ idleLoaded: 1, failed: 0 });
    expect(r.stderr).toMatch(/^vmm: koffi: native module from \/.*\/koffi\.node$/m);
    // Without koffi loaded first (the CLI's first thread), koffi's loader: no such line.
    expect(start()).not.toMatch(/^vmm: koffi:/m);
    // A path that does not load as koffi: the thread still loads, through koffi's loader.
    const notKoffi = JSON.stringify(path.join(dir, 'not-koffi.node'));
    const script = `${loaderWorker(
      `{ loaded: loaded.buffer, koffiNative: ${notKoffi} }`,
      'const loaded = new Int32Array(new SharedArrayBuffer(4));',
    )}
      w.on('error', (e) => { console.error(e); process.exit(1); });
      const until = Date.now() + 50000;
      while (Atomics.load(loaded, 0) !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      process.stdout.write(String(Atomics.load(loaded, 0)));
      w.postMessage({ role: 'exit' });`;
    fs.writeFileSync(path.join(dir, 'not-koffi.node'), 'not an ELF file');
    const bad = node(script);
    expect(bad.status, bad.stderr).toBe(0);
    expect(bad.stdout).toBe('1');
    expect(bad.stderr).toMatch(/^vmm: koffi: .*not-koffi\.node did not load .*: koffi's loader instead$/m);
  });

  it('a vCPU role run from the cache imports a backend module of its own (Node 20 loses import() in cached code: the loader lends its own)', () => {
    // A backend whose attach function says it was reached: the vCPU thread reports it as its stop.
    const backend = path.join(dir, 'backend.mjs');
    fs.writeFileSync(backend, `export function attach() { throw new Error('backend module imported'); }\n`);
    const script = `${loaderWorker('{ loaded: new SharedArrayBuffer(4) }')}
      const vcpu = { module: ${JSON.stringify(pathToFileURL(backend).href)}, exportName: 'attach', handle: null };
      w.postMessage({ role: 'vcpu', init: { id: 0, vcpu } });
      w.on('message', (m) => { process.stdout.write(JSON.stringify(m)); process.exit(0); });`;
    // Twice: the first run writes this process's cache (its flags are its own), the second uses it.
    for (const cache of ['written', 'used']) {
      const r = node(script);
      expect(r.stderr).toMatch(new RegExp(`^vmm: code cache: ${cache}:? .*/pool-worker-`, 'm'));
      const stop = JSON.parse(r.stdout) as { type: string; reason: string; detail: string };
      expect(stop).toMatchObject({ type: 'stopped', reason: 'error' });
      expect(stop.detail).toContain('backend module imported');
    }
  });
});
