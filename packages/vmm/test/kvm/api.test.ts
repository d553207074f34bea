// Tier 2: the REST API with a real VM on /dev/kvm. `vmm run --api-socket path=...` starts with no
// kernel; `vmm remote` creates and boots the echo test guest (test-vms/guests/echo.c), which waits
// on COM1, so it runs until told otherwise: vm.info says Running, the serial port is the server's
// terminal both ways, pause holds the echo back and resume lets it out, vm.shutdown ends the VM (the
// process goes on serving), vmm.shutdown ends the process. One boot.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { ConsoleProcess, repoRoot, runToEnd, vmmCommand } from '../support/console-process';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: the REST API with a test guest on /dev/kvm');
const run = promisify(execFile);

describe.skipIf(!canRun)('REST API on /dev/kvm: vmm run --api-socket driven by vmm remote', () => {
  let g: Record<string, string>;
  let dir = '';
  let server: ConsoleProcess | undefined;
  beforeAll(async () => {
    g = await buildGuests();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-api-kvm-'));
  }, 300_000);
  afterAll(() => {
    server?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const remote = async (socket: string, ...args: string[]) => {
    try {
      const r = await run(
        vmmCommand[0]!,
        [...vmmCommand.slice(1), 'remote', '--api-socket', socket, ...args],
        {
          cwd: repoRoot,
          timeout: 120_000,
        },
      );
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: x.code ?? -1, out: x.stdout ?? '', err: x.stderr ?? '' };
    }
  };

  /** A command that prints JSON: it must succeed (its stderr and the server's shown if not). */
  const remoteJson = async (socket: string, ...args: string[]): Promise<Record<string, unknown>> => {
    const r = await remote(socket, ...args);
    expect(r.code, `vmm remote ${args.join(' ')}: ${r.err}\n--- server stderr\n${server?.err ?? ''}`).toBe(0);
    return JSON.parse(r.out) as Record<string, unknown>;
  };

  it('creates, boots, reports, shuts down the VM, then the VMM', async () => {
    const socket = path.join(dir, 'api.sock');
    server = new ConsoleProcess([...vmmCommand, 'run', '--api-socket', `path=${socket}`]);
    const t0 = Date.now();
    while (!fs.existsSync(socket)) {
      if (Date.now() - t0 > 60_000) throw new Error(`no API socket after 60 s: ${server.err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);

    const config = {
      payload: { kernel: g.echo, cmdline: 'api-test' },
      cpus: { boot_vcpus: 1, max_vcpus: 1 },
      memory: { size: 128 * 2 ** 20 },
      serial: { mode: 'Tty' },
    };
    const create = await remote(socket, 'create', JSON.stringify(config));
    expect(create.code, create.err + server.err).toBe(0);
    expect((await remoteJson(socket, 'info')).state).toBe('Created');

    const boot = await remote(socket, 'boot');
    expect(boot.code, boot.err + server.err).toBe(0);
    await server.waitFor(/ECHO-READY/, 60_000);
    const info = await remoteJson(socket, 'info');
    expect(info).toMatchObject({ state: 'Running', memory_actual_size: 128 * 2 ** 20, config });
    // The echo guest has no virtio devices: KVM's own counters of the VM and its one vCPU only.
    const counters = (await remoteJson(socket, 'counters')) as Record<string, Record<string, number>>;
    expect(Object.keys(counters).sort()).toEqual(['kvm', 'vcpu0']);
    expect(counters.vcpu0!.exits).toBeGreaterThan(0);

    // The serial port is the server's terminal, input too.
    server.send('typed through the API server\n');
    // 90 s: under TCG (the nested-KVM VM) an echo through the pty took more than 30 s once.
    await server.waitFor(/typed through the API server/, 90_000);

    // Paused, the guest echoes nothing; resumed, it echoes what was typed meanwhile.
    expect((await remote(socket, 'pause')).code).toBe(0);
    expect((await remoteJson(socket, 'info')).state).toBe('Paused');
    expect((await remote(socket, 'pause')).err).toMatch(/HTTP 409 EVMSTATE/);
    server.send('typed while paused\n');
    await new Promise((r) => setTimeout(r, 500));
    expect(server.out).not.toContain('typed while paused');
    expect((await remote(socket, 'resume')).code).toBe(0);
    expect((await remoteJson(socket, 'info')).state).toBe('Running');
    await server.waitFor(/typed while paused/, 30_000);

    const shutdown = await remote(socket, 'shutdown');
    expect(shutdown.code, shutdown.err + server.err).toBe(0);
    expect((await remoteJson(socket, 'info')).state).toBe('Shutdown');
    expect(server.child.exitCode).toBe(null); // vm.shutdown leaves the VMM serving
    expect((await remote(socket, 'ping')).code).toBe(0);

    const bye = await remote(socket, 'shutdown-vmm');
    expect(bye.code, bye.err).toBe(0);
    expect((await server.exited).code).toBe(0);
    expect(fs.existsSync(socket)).toBe(false);
    expect(server.err).toBe('');
  }, 300_000);

  it('snapshot over the API, kill -9, `vmm run --restore` in a new process: the count goes on from where it stopped', async () => {
    const socket = path.join(dir, 'snap.sock');
    const snap = path.join(dir, 'snap');
    const counts = (out: string) => [...out.matchAll(/COUNT (\d+)\n/g)].map((m) => Number(m[1]));
    // The disk is named relative to the first process's working directory; the restore runs in
    // another one, which has no such file: the snapshot names the image the VM had.
    const cwdA = path.join(dir, 'a');
    const cwdB = path.join(dir, 'b');
    fs.mkdirSync(cwdA);
    fs.mkdirSync(cwdB);
    fs.writeFileSync(path.join(cwdA, 'disk.img'), Buffer.alloc(1 << 20));
    const a = new ConsoleProcess(
      [
        ...vmmCommand,
        'run',
        '--kernel',
        g.lifecycle!,
        '--memory',
        'size=128M',
        '--disk',
        'path=disk.img',
        '--api-socket',
        `path=${socket}`,
      ],
      cwdA,
    );
    try {
      await a.waitFor(/COUNT 3\n/, 60_000);
      expect((await remote(socket, 'pause')).code).toBe(0);
      const s = await remote(socket, 'snapshot', `file://${snap}`);
      expect(s.code, s.err + a.err).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      a.child.kill('SIGKILL');
    }
    await a.exited;
    const last = counts(a.out).at(-1)!;

    const manifest = JSON.parse(fs.readFileSync(path.join(snap, 'manifest.json'), 'utf8'));
    expect(manifest.config.disks).toEqual([{ path: path.join(cwdA, 'disk.img'), readonly: false }]);
    const b = new ConsoleProcess([...vmmCommand, 'run', '--restore', `source_url=file://${snap}`], cwdB);
    try {
      await b.waitFor(new RegExp(`COUNT ${last + 2}\\n`), 60_000);
      // The pause may fall inside a line ("COUNT 2" before, "5\n" after): the two outputs joined
      // carry every count once, in order, none lost or repeated across the snapshot.
      const joined = counts(a.out + b.out);
      const from = joined.indexOf(last);
      const seam = `before: ${JSON.stringify(a.out.slice(-40))}, after: ${JSON.stringify(b.out.slice(0, 40))}`;
      expect(joined.slice(from, from + 3), seam).toEqual([last, last + 1, last + 2]);
      expect(joined, seam).toEqual(joined.map((_, i) => joined[0]! + i));
      // The vCPU's thread, under its seccomp filter: started at the early run's first tick, it may
      // still be loading when the counts are out (a nested-KVM host starts a worker in seconds).
      const t0 = Date.now();
      while (filteredThreads(b.child.pid!) === 0) {
        expect(Date.now() - t0, 'no thread of the restored VM under a seccomp filter').toBeLessThan(60_000);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      b.child.kill('SIGTERM');
    }
    expect((await b.exited).code).toBe(0);

    // --serial sends the restored VM's COM1 to a file instead of this terminal; --seccomp false
    // stands instead of the snapshot's setting (it was taken and left unused: the VM's threads
    // installed their filters all the same).
    const log = path.join(dir, 'restored-serial.log');
    const c = new ConsoleProcess(
      [
        ...vmmCommand,
        'run',
        '--restore',
        `source_url=file://${snap}`,
        '--serial',
        `file=${log}`,
        '--seccomp',
        'false',
      ],
      cwdB,
    );
    try {
      const t0 = Date.now();
      while (!counts(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').includes(last + 2)) {
        expect(Date.now() - t0, `no COUNT ${last + 2} in ${log}; stderr: ${c.err}`).toBeLessThan(60_000);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(c.out).not.toMatch(/COUNT/);
      expect(filteredThreads(c.child.pid!)).toBe(0);
    } finally {
      c.child.kill('SIGTERM');
    }
    expect((await c.exited).code).toBe(0);

    // A damaged snapshot: one line naming what is wrong, exit 1, no VM.
    const bad = path.join(dir, 'bad');
    fs.cpSync(snap, bad, { recursive: true });
    const state = fs.readFileSync(path.join(bad, 'kvm.state'));
    state[100]! ^= 1;
    fs.writeFileSync(path.join(bad, 'kvm.state'), state);
    const r = await runToEnd([...vmmCommand, 'run', '--restore', `source_url=file://${bad}`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/kvm\.state .*does not match its manifest/);
    expect(r.out).not.toMatch(/COUNT/);
  }, 300_000);
});

/** How many of process `pid`'s threads run under a seccomp filter (/proc/PID/task/TID/status). */
function filteredThreads(pid: number): number {
  let n = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      if (/^Seccomp:\s*2$/m.test(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))) n++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}
