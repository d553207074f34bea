// Packages as users get them: `pnpm pack` each one, install the tarballs into a fresh project
// with npm, import each package, and run the installed `vmm` binary.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const packages = ['hypervisor', 'net', 'virtio', 'vmm', 'cli'];
const built = packages.every((p) => fs.existsSync(path.join(root, 'packages', p, 'dist', 'index.js')));
if (!built) console.warn('SKIP (packages not built; `pnpm test` builds them first): pack-and-install test');

describe.skipIf(!built)('packed packages install and import in a fresh npm project', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-pack-'));
  const project = path.join(work, 'app');

  beforeAll(() => {
    const tarballs = packages.map((p) => {
      const out = execFileSync('pnpm', ['pack', '--pack-destination', work], {
        cwd: path.join(root, 'packages', p),
        encoding: 'utf8',
      });
      return path.resolve(work, out.trim().split('\n').pop()!);
    });
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'app', type: 'module', private: true }),
    );
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], {
      cwd: project,
      stdio: 'pipe',
    });
  }, 300_000);

  it.each(packages)('@vmm/%s imports, with types', (p) => {
    const out = execFileSync(
      'node',
      [
        '--input-type=module',
        '-e',
        `const m = await import('@vmm/${p}'); console.log(Object.keys(m).length)`,
      ],
      {
        cwd: project,
        encoding: 'utf8',
      },
    );
    expect(Number(out.trim())).toBeGreaterThan(0);
    const pkg = JSON.parse(
      fs.readFileSync(path.join(project, 'node_modules/@vmm', p, 'package.json'), 'utf8'),
    );
    expect(fs.existsSync(path.join(project, 'node_modules/@vmm', p, pkg.types))).toBe(true);
    expect(JSON.stringify(pkg)).not.toContain('workspace:');
  });

  it("the installed vmm binary runs; its next run loads koffi's native module from the note of its first", () => {
    const vmm = () =>
      spawnSync(path.join(project, 'node_modules/.bin/vmm'), ['run', '--help'], {
        encoding: 'utf8',
        env: { ...process.env, VMM_DEBUG: '1', VMM_CODE_CACHE_DIR: path.join(work, 'cli-code-cache') },
      });
    const first = vmm();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('vmm run --kernel PATH');
    expect(first.stderr).toMatch(/^vmm: code cache: note written: .*note-koffi-native-/m);
    const second = vmm();
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/^vmm: koffi: native module from .*\/node_modules\/.*\/koffi\.node$/m);
  });

  it("the installed binary finds @vmm/vmm (its vCPU threads' files) where require.resolve does", () => {
    // bin.cjs's banner looks the package up through Node's node_modules folders, without
    // require.resolve's realpath of each path component: the same package in npm's layout.
    const bin = path.join(project, 'node_modules/@vmm/cli/dist/bin.cjs');
    const script = `
      const fs = require('node:fs');
      const path = require('node:path');
      const req = require('node:module').createRequire(${JSON.stringify(bin)});
      const helper = /function __vmmPackageDir\\(pkg\\) \\{[\\s\\S]*?\\n\\}/.exec(fs.readFileSync(${JSON.stringify(bin)}, 'utf8'));
      const lookUp = new Function('require', helper[0] + '\\nreturn __vmmPackageDir;')(req);
      const real = (p) => fs.realpathSync(p);
      console.log(JSON.stringify([real(lookUp('@vmm/vmm')), real(path.dirname(req.resolve('@vmm/vmm/package.json')))]));`;
    const out = execFileSync('node', ['-e', script], { cwd: project, encoding: 'utf8' });
    const [found, resolved] = JSON.parse(out) as [string, string];
    expect(found).toBe(resolved);
    expect(found).toBe(fs.realpathSync(path.join(project, 'node_modules/@vmm/vmm')));
  });

  /** A process in the installed project that runs `first`, starts one pooled worker and waits for its load. */
  const pooledWorker = (first = '') =>
    spawnSync(
      'node',
      [
        '--input-type=module',
        '-e',
        `${first}
      const { warmThreads, warmThreadStats, releaseWarmThreads } = await import('@vmm/vmm/warm');
      warmThreads(1);
      const until = Date.now() + 50000;
      while (warmThreadStats().idleLoaded < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      console.log(JSON.stringify(warmThreadStats()));
      await releaseWarmThreads();`,
      ],
      {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, VMM_DEBUG: '1', VMM_CODE_CACHE_DIR: path.join(work, 'code-cache') },
      },
    );

  it('a pooled worker thread loads from the installed @vmm/vmm (its code-cached bundle, koffi found)', () => {
    const r = pooledWorker();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ idleLoaded: 1, failed: 0 });
    expect(fs.readdirSync(path.join(work, 'code-cache')).some((f) => f.startsWith('pool-worker-'))).toBe(
      true,
    );
  });

  it("a pooled worker started after @vmm/vmm loaded koffi takes koffi's native module from the installed package's layout", () => {
    const r = pooledWorker("await import('@vmm/vmm');");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ idleLoaded: 1, failed: 0 });
    expect(r.stderr).toMatch(/^vmm: koffi: native module from .*\/node_modules\/.*\/koffi\.node$/m);
  });
});
