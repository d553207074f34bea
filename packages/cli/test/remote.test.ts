// `vmm remote` against the REST API of a real `vmm run --api-socket path=...` process started
// without a kernel: everything but booting a VM runs without /dev/kvm (vm.boot is tried with a
// kernel that does not exist: the server's 500 comes back as one line and exit code 1).
// packages/vmm/test/kvm/api.test.ts boots a real VM the same way.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = ['--import', 'tsx', path.join(root, 'packages/cli/src/bin.ts')];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-remote-'));
const socket = path.join(dir, 'api.sock');
const vmm = (args: string[], input?: string) => {
  const r = spawnSync('node', [...bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, input });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const remote = (...args: string[]) => vmm(['remote', '--api-socket', socket, ...args]);
const oneLine = (s: string) => s.trim().split('\n').length === 1;

const CONFIG = {
  payload: { kernel: path.join(dir, 'no-such-kernel'), cmdline: 'console=ttyS0' },
  cpus: { boot_vcpus: 1, max_vcpus: 1 },
  memory: { size: 134217728 },
  serial: { mode: 'Off' },
};

describe('vmm remote against vmm run --api-socket (no kernel: no VM is booted)', () => {
  let server: ChildProcess;
  let serverErr = '';
  let serverExit: Promise<number | null>;
  beforeAll(async () => {
    server = spawn('node', [...bin, 'run', '--api-socket', `path=${socket}`], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stderr!.on('data', (d: Buffer) => (serverErr += d.toString()));
    serverExit = new Promise((r) => server.on('exit', (code) => r(code)));
    const t0 = Date.now();
    while (!fs.existsSync(socket)) {
      if (Date.now() - t0 > 30_000) throw new Error(`vmm run --api-socket did not listen: ${serverErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);
  afterAll(() => {
    server.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the socket is owner-only, and ping answers the JSON of vmm.ping', () => {
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    const r = remote('ping');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ pid: server.pid, features: ['kvm'] });
  });

  it('create takes a file, stdin or inline JSON; info prints it back; delete forgets it', () => {
    const file = path.join(dir, 'vm.json');
    fs.writeFileSync(file, JSON.stringify(CONFIG));
    for (const how of [[file], ['-'], [JSON.stringify(CONFIG)]]) {
      const c = vmm(
        ['remote', '--api-socket', socket, 'create', ...how],
        how[0] === '-' ? JSON.stringify(CONFIG) : undefined,
      );
      expect(c.code, c.err).toBe(0);
      expect(c.out).toBe('');
      const info = remote('info');
      expect(JSON.parse(info.out)).toMatchObject({
        config: CONFIG,
        state: 'Created',
        memory_actual_size: 134217728,
      });
      expect(remote('delete').code).toBe(0);
    }
  });

  it('an error answer is one line with the message, status and code, exit 1; the state is unchanged', () => {
    expect(remote('create', JSON.stringify({ ...CONFIG, balloon: { size: 1 } }))).toMatchObject({ code: 1 });
    const bad = remote('create', JSON.stringify({ ...CONFIG, balloon: { size: 1 } }));
    expect(bad.err).toMatch(/field 'balloon' is not supported .*\(HTTP 400 EAPIFIELD\)/);
    expect(oneLine(bad.err)).toBe(true);
    expect(remote('info').err).toMatch(/no VM is created.*HTTP 404 EVMNOTCREATED/);

    expect(remote('create', JSON.stringify(CONFIG)).code).toBe(0);
    const pause = remote('pause');
    expect([pause.code, pause.err]).toEqual([
      1,
      expect.stringMatching(/the VM is Created: it must be Running \(HTTP 409 EVMSTATE\)/),
    ]);
    const boot = remote('boot');
    expect(boot.code).toBe(1);
    expect(boot.err).toMatch(/did not boot: kernel .*no-such-kernel does not exist \(HTTP 500 EKERNEL\)/);
    expect(oneLine(boot.err)).toBe(true);
    expect(JSON.parse(remote('info').out).state).toBe('Created');
    expect(remote('counters').err).toMatch(/HTTP 409/);
    expect(remote('snapshot', 'file:///tmp/snap').err).toMatch(/HTTP 409 EVMSTATE/);
    expect(remote('restore', 'source_url=file:///tmp/snap,resume=on').err).toMatch(/HTTP 409 EVMEXISTS/);
    expect(remote('delete').code).toBe(0);
    expect(remote('restore', 'file:///nonexistent/snap').err).toMatch(
      /holds no snapshot .*\(HTTP 400 ESNAPSHOTMISSING\)/,
    );
    // prefault=on goes to the server as Cloud Hypervisor's field (which refuses fields it does not take).
    expect(remote('restore', 'source_url=file:///nonexistent/snap,prefault=on').err).toMatch(
      /holds no snapshot .*\(HTTP 400 ESNAPSHOTMISSING\)/,
    );
  });

  it.each([
    [['remote', 'ping'], /--api-socket PATH is required/],
    [['remote', '--api-socket', '/x'], /a command is needed/],
    [['remote', '--api-socket', '/x', 'frob'], /unknown command 'frob'/],
    [['remote', '--api-socket', '/x', 'boot', 'now'], /unexpected argument 'now'/],
    [['remote', '--api-socket', '/x', 'create'], /create needs a VmConfig/],
    [['remote', '--api-socket', '/x', 'create', '/no/such.json'], /cannot read \/no\/such.json \(ENOENT\)/],
    [['run', '--api-socket', 'path=/x', '--cpus', 'boot=2'], /--cpus describes a VM: give --kernel too/],
    [
      ['run', '--restore', 'source_url=file:///s', '--disk', 'path=/d.img'],
      /--disk describes a VM, and --restore brings back the VM its snapshot describes: leave out --disk/,
    ],
    [['run', '--restore', 'source_url=file:///s', '--serial', 'file='], /--serial: 'file' needs a value/],
    [['run', '--api-socket', 'file=/x'], /--api-socket: unknown key 'file'/],
    [
      ['remote', '--api-socket', '/x', 'restore', 'source_url=file:///s,prefault=yes'],
      /prefault=yes is not on or off/,
    ],
  ])('bad command line %j: exit 2, one line', (args, message) => {
    const r = vmm(args as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(oneLine(r.err)).toBe(true);
  });

  it('no server at the path: exit 1 saying how to start one', () => {
    const r = vmm(['remote', '--api-socket', path.join(dir, 'none.sock'), 'ping']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the API socket .*none\.sock .*vmm run --api-socket path=/);
  });

  it('a file that is not a socket: exit 1 saying so', () => {
    const file = path.join(dir, 'not-a-socket');
    fs.writeFileSync(file, 'x');
    const r = vmm(['remote', '--api-socket', file, 'ping']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not-a-socket is not a socket: give the path given to vmm run --api-socket/);
  });

  it('--help of remote and run name the commands and the flag', () => {
    const help = vmm(['remote', '--help']);
    for (const c of [
      'ping',
      'shutdown-vmm',
      'create',
      'boot',
      'info',
      'counters',
      'pause',
      'resume',
      'reboot',
      'shutdown',
      'power-button',
      'delete',
      'snapshot',
      'restore',
    ])
      expect(help.out).toContain(`  ${c}`);
    expect(vmm(['run', '--help']).out).toContain('--api-socket path=PATH');
  });

  it('shutdown-vmm ends the vmm run process with exit code 0 and removes the socket', async () => {
    const r = remote('shutdown-vmm');
    expect(r.code, r.err).toBe(0);
    expect(await serverExit).toBe(0);
    expect(fs.existsSync(socket)).toBe(false);
    // The server logs each answer it could not give (a 5xx): here the one boot that failed.
    expect(serverErr.trim().split('\n')).toEqual([
      expect.stringMatching(/^vmm: API: 500 EKERNEL: vm.boot: the VM did not boot/),
    ]);
  });
});
