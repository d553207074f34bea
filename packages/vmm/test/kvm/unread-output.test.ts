// Tier 2: guests writing into output nobody reads, and ignoring the input they are sent, under
// `vmm run` on /dev/kvm. `stream` writes COM1 without a pause, `virtio-flood` keeps virtio-console's
// transmit queue full. Into a full pipe or FIFO a stop must still end the monitor and a pause
// still park the VM, with nothing lost or doubled; in the library, host input must still go in;
// input the guest never reads must wait in its pipe, not in the monitor.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { repoRoot, vmmCommand } from '../support/console-process';
import { kvmUsable, NESTED_VM } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: guests writing into output nobody reads, on /dev/kvm');
/** How long a stop may take: 1 s on a host with KVM; ten times that inside the nested-KVM VM. */
const SIGNAL_MS = NESTED_VM ? 10_000 : 1_000;

describe.skipIf(!canRun)('a guest writing into output nobody reads', () => {
  let stream: string;
  let flood: string;
  beforeAll(async () => {
    const guests = await buildGuests();
    stream = guests['stream']!;
    flood = guests['virtio-flood']!;
  }, 300_000);

  it.each([
    {
      output: 'COM1',
      guest: () => stream,
      args: [] as string[],
      ready: /S 100\n/,
      // Before, the vCPU thread waited on the pipe for ever and the monitor never ended.
      dropped: 'serial output: the terminal or pipe took no more when the VM stopped',
    },
    {
      output: 'virtio-console',
      guest: () => flood,
      args: ['--serial', 'off', '--console', 'tty'],
      ready: /x\n/,
      // Before, the VM stopped but the write Node had queued for stdout kept the process alive.
      dropped: 'bytes of guest output that stdout had not taken: they are dropped',
    },
  ])(
    'SIGTERM ends vmm run while its stdout ($output) is a full pipe, and says what it dropped',
    async ({ guest, args, ready, dropped }) => {
      const p = spawn(vmmCommand[0]!, [...vmmCommand.slice(1), 'run', '--kernel', guest(), ...args], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      try {
        // Read until the guest's output flows, then stop reading: the pipe (64 KiB) fills in well
        // under a second; give it several.
        let seen = '';
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no ${ready} in 60 s; stderr:\n${err}`)), 60_000);
          const onData = (d: Buffer) => {
            seen += d.toString('latin1');
            if (ready.test(seen)) {
              clearTimeout(t);
              p.stdout.off('data', onData);
              p.stdout.pause();
              resolve();
            }
          };
          p.stdout.on('data', onData);
        });
        const { code, ms } = await termAfterFilling(p, exited, 'with stdout full');
        expect(code, err).toBe(0);
        expect(ms).toBeLessThan(SIGNAL_MS);
        // The proof that the pipe was full when the stop came: what it had not taken.
        expect(err).toContain(dropped);
      } finally {
        p.kill('SIGKILL');
      }
    },
    120_000,
  );

  it('pause parks the vCPU while COM1 waits on a full stdout, and nothing is lost or doubled across it', async () => {
    // Before, the vCPU waited on the pipe and could not park: vm.pause never answered.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-pause-'));
    const socket = path.join(dir, 'api.sock');
    const p = spawn(
      vmmCommand[0]!,
      [...vmmCommand.slice(1), 'run', '--kernel', stream, '--api-socket', `path=${socket}`],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let text = '';
    const onData = (d: Buffer) => (text += d.toString('latin1'));
    const remote = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const r = spawn(vmmCommand[0]!, [...vmmCommand.slice(1), 'remote', '--api-socket', socket, ...args], {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        r.stdout.on('data', (d: Buffer) => (out += d.toString()));
        r.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const t = setTimeout(() => r.kill('SIGKILL'), 30_000);
        r.once('exit', (code) => (clearTimeout(t), resolve({ code, out })));
      });
    const until = async (re: RegExp, ms: number) => {
      for (const end = Date.now() + ms; !re.test(text);) {
        if (Date.now() > end) throw new Error(`no ${re} within ${ms} ms; stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      p.stdout.on('data', onData);
      await until(/S 100\n/, 60_000);
      p.stdout.off('data', onData);
      p.stdout.pause();
      await new Promise((r) => setTimeout(r, FILL_MS));
      const t0 = Date.now();
      const paused = await remote('pause');
      console.log(`pause with stdout full answered in ${Date.now() - t0} ms`);
      expect(paused.code, `${paused.out}\n--- server stderr\n${err}`).toBe(0);
      // Read what the pipe held while the VM stays paused, then resume and read on.
      p.stdout.on('data', onData);
      p.stdout.resume();
      await new Promise((r) => setTimeout(r, 500));
      expect((await remote('resume')).code).toBe(0);
      const last = Number(/S (\d+)\n(?![\s\S]*S \d+\n)/.exec(text)![1]);
      await until(new RegExp(`S ${last + 2000}\\n`), 60_000);
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
      // Every line from the first to the last whole one: S 1, S 2, ... with none missing or doubled.
      const lines = text.slice(text.indexOf('STREAM-READY')).split('\n').slice(1, -1);
      const bad = lines.findIndex((l, i) => l !== `S ${i + 1}`);
      expect(bad, `line ${bad}: ${JSON.stringify(lines.slice(Math.max(bad - 2, 0), bad + 3))}`).toBe(-1);
      expect(lines.length).toBeGreaterThan(last + 2000 - 1);
    } finally {
      p.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('SIGTERM ends vmm run while its virtio-console writes into a FIFO whose reader does not read', async () => {
    // Before, the main thread waited in its write to the FIFO: no signal could be handled.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-fifo-'));
    const fifo = path.join(dir, 'hvc0.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); // never read
    const p = spawn(
      vmmCommand[0]!,
      [...vmmCommand.slice(1), 'run', '--kernel', flood, '--console', `file=${fifo}`],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString('latin1')));
    p.stderr.on('data', (d: Buffer) => (text += d.toString('latin1')));
    try {
      for (const end = Date.now() + 60_000; !text.includes('FLOOD-START');) {
        if (Date.now() > end) throw new Error(`no FLOOD-START in 60 s; output:\n${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const { code, ms } = await termAfterFilling(p, exited, "with the console's FIFO full");
      expect(code, text).toBe(0);
      expect(ms).toBeLessThan(SIGNAL_MS);
    } finally {
      p.kill('SIGKILL');
      fs.closeSync(reader);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('host input the guest does not read waits in its pipe, not in the monitor', async () => {
    // `stream` never reads COM1. Before, vmm run read stdin as fast as it came and kept it all
    // (`yes | vmm run ...` grew by ~300 MB/s): now it stops reading past 64 KiB held.
    const p = spawn(vmmCommand[0]!, [...vmmCommand.slice(1), 'run', '--kernel', stream], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text = (text + d.toString('latin1')).slice(-4096)));
    p.stdin.on('error', () => {}); // EPIPE once it is gone
    try {
      for (const end = Date.now() + 60_000; !/S \d+\n/.test(text);) {
        if (Date.now() > end) throw new Error('no output from the stream guest in 60 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      const chunk = Buffer.alloc(65536, 0x79);
      let sent = 0;
      const until = Date.now() + (NESTED_VM ? 20_000 : 3_000);
      while (Date.now() < until) {
        if (p.stdin.write(chunk)) sent += chunk.length;
        else {
          sent += chunk.length;
          await Promise.race([
            new Promise((r) => p.stdin.once('drain', r)),
            new Promise((r) => setTimeout(r, until - Date.now())),
          ]);
        }
      }
      const taken = sent - p.stdin.writableLength;
      console.log(`host input the guest never reads: the monitor took ${taken} bytes in the time given`);
      // 64 KiB held, the UART's ring, Node's read buffer and the pipe (64 KiB): well under 1 MiB.
      expect(taken).toBeLessThan(1024 * 1024);
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      p.kill('SIGKILL');
    }
  }, 120_000);

  it('the library takes console input while the guest writes faster than its capture is read', async () => {
    // Before: with the capture pipe full (the library's thread busy), the vCPU thread waited on it
    // holding the UART's lock, console.write() waited for the lock on the library's thread, and
    // nothing could read the pipe: the process hung for good. In a child, so a hang is bounded.
    const child = spawn(
      'node',
      ['--import', 'tsx', 'packages/vmm/test/support/capture-input-child.ts', stream],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await Promise.race([
      new Promise<number | null>((r) => child.once('exit', (c) => r(c))),
      new Promise<string>((r) => setTimeout(() => r('hung'), NESTED_VM ? 240_000 : 60_000)),
    ]);
    child.kill('SIGKILL');
    expect(code, `stdout:\n${out}\nstderr:\n${err}`).toBe(0);
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
      perSecond: number;
      busyMs: number;
      loopBackMs: number;
    };
    console.log(
      `the guest wrote ${r.perSecond} bytes/s; after ${r.busyMs} ms busy, console.write() and a timer took ${r.loopBackMs} ms`,
    );
    expect(r.loopBackMs).toBeLessThan(SIGNAL_MS);
  }, 300_000);
});

/** Time for a guest to fill a 64 KiB pipe many times over (a few tens of KB/s here, emulated). */
const FILL_MS = NESTED_VM ? 30_000 : 3_000;

/**
 * Let the guest fill what nobody reads, then SIGTERM the monitor: its exit code ('still running'
 * after 30 s) and how long it took.
 */
async function termAfterFilling(
  p: ChildProcess,
  exited: Promise<number | null>,
  what: string,
): Promise<{ code: unknown; ms: number }> {
  await new Promise((r) => setTimeout(r, FILL_MS));
  const t0 = Date.now();
  p.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
  const ms = Date.now() - t0;
  console.log(`SIGTERM ${what}: vmm run ended in ${ms} ms`);
  return { code, ms };
}
