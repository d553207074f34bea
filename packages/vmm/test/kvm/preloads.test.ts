// A process run with a preload (node --import or --require, on its command line or in
// NODE_OPTIONS: tsx, an APM agent) keeps it out of our vCPU threads: those run only our code, under
// a seccomp filter that would end the process at a preload's system call
// (io/thread-node-options.ts). Its other options (V8's among them) do not stop the threads.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { kvmUsable } from '../support/kvm-available';

const dist = path.resolve(import.meta.dirname, '../../dist/index.js');
const canRun = kvmUsable('tier 2: a preload kept out of vCPU threads');
const built = fs.existsSync(dist);
if (canRun && !built) console.warn(`SKIP (no ${dist}: run pnpm build): a preload kept out of vCPU threads`);

describe.skipIf(!canRun || !built)('a process with a preload that connects a socket in every thread', () => {
  let guest: string;
  let dir: string;
  let server: net.Server;
  let connections = 0;
  beforeAll(async () => {
    guest = (await buildGuests())['lifecycle']!;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-preload-'));
    server = net.createServer((s) => (connections++, s.destroy()));
    await new Promise<void>((r) => server.listen(path.join(dir, 'sock'), r));
  }, 300_000);
  afterAll(() => {
    server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const child = path.resolve(import.meta.dirname, '../support/preload-child.mjs');
  const preload = path.resolve(import.meta.dirname, '../support/preload-socket.mjs');
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...args, child, dist, guest], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, ...env, PRELOAD_SOCKET: path.join(dir, 'sock') },
    });

  // V8's and per-process options (--max-old-space-size, --title) are the process's: Node refuses
  // them in a worker's own execArgv, so a thread given one would not start at all.
  const processWide = ['--max-old-space-size=256', '--title=vmm-preloads-test'];
  it.each([
    ['--import on the command line', ['--import', preload], {}],
    ['--import in NODE_OPTIONS', [], { NODE_OPTIONS: `--import "${preload}"` }],
    ['--import beside V8 and per-process options', [...processWide, '--import', preload], {}],
    ['V8 and per-process options, no preload', processWide, {}],
  ])(
    '%s: the VM counts and the process ends well, 3 times',
    (_, args, env) => {
      for (let i = 0; i < 3; i++) {
        const r = run(args as string[], env);
        expect({
          signal: r.signal,
          status: r.status,
          out: r.stdout,
          err: r.stderr.slice(-600),
        }).toMatchObject({
          signal: null,
          status: 0,
          out: 'COUNTED\n',
        });
      }
      // The preload ran in none of the process's threads (it connects from every worker it runs in).
      expect(connections).toBe(0);
    },
    300_000,
  );
});
