// The built `vmm` (dist/bin.js) runs the CLI from its bundle (dist/vmm.cjs) with a V8 code cache:
// the first run writes the cache, the next one uses it; a damaged cache is rejected and written
// again; VMM_CODE_CACHE=off loads the modules. Each way prints the same. The bundle finds what its
// modules find next to themselves (package.json for --version, the guest agent's binary).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'packages/cli/dist/bin.js');
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

  it('writes the cache on the first run, uses it on the next, rewrites a damaged one; off loads the modules; the same output each way', () => {
    const first = vmm({}, 'run', '--help');
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/^vmm: code cache: written: .*\.v8$/m);
    expect(cacheFiles()).toHaveLength(1);
    const file = path.join(cacheDir, cacheFiles()[0]!);
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
});
