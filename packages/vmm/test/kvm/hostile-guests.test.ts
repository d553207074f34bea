// Tier 2: a hostile test guest under `vmm run` on /dev/kvm. virtio-flood keeps the console's
// transmit queue full for ever; the monitor must still answer SIGTERM, SIGINT and SIGHUP (its terminal gone), end with 0
// (stopped), and give the terminal back as it found it. Run under a pseudo-terminal (script(1))
// so that the serial port really puts the terminal in raw mode. Output nobody reads: unread-output.test.ts.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { repoRoot, vmmCommand } from '../support/console-process';
import { kvmUsable, NESTED_VM } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: hostile test guests on /dev/kvm');
/**
 * How long a signal may take to end the monitor: 1 s on a host with KVM; inside the nested-KVM
 * VM (QEMU under TCG, every instruction emulated, Node ~20 times slower) ten times that.
 */
const SIGNAL_MS = NESTED_VM ? 10_000 : 1_000;

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;

describe.skipIf(!canRun)('hostile test guests under vmm run', () => {
  let flood: string;
  beforeAll(async () => {
    flood = (await buildGuests())['virtio-flood']!;
  }, 300_000);

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    '%s ends vmm run within the bound while the guest floods the console, and the terminal is restored',
    async (sig) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-flood-'));
      const marker = `flood-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const out = path.join(dir, 'hvc0.log');
      const vmm = [
        ...vmmCommand,
        'run',
        '--kernel',
        flood,
        '--serial',
        'tty',
        '--console',
        `file=${out},max=256M`,
        '--cmdline',
        marker,
      ];
      const sh =
        `stty -g > ${quote(dir)}/before; ${vmm.map(quote).join(' ')}; ` +
        `echo "VMM-EXIT=$?"; stty -g > ${quote(dir)}/after`;
      const p = spawn('script', ['-qefc', sh, '/dev/null'], {
        cwd: repoRoot,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      // Listened for from the start: script(1) may be gone before the test gets to wait for it.
      const exited = new Promise((r) => p.once('exit', r));
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString('latin1')));
      const until = async (re: RegExp, ms: number) => {
        const end = Date.now() + ms;
        while (!re.test(text)) {
          if (Date.now() > end) throw new Error(`no ${re} within ${ms} ms; output:\n${text}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      try {
        await until(/FLOOD-START/, 60_000);
        // The flood is under way once the console's file grows (the first bytes may take seconds
        // inside the nested-KVM VM), and a second more keeps the queue full when the signal comes.
        const flowing = Date.now() + 30_000;
        while ((fs.statSync(out, { throwIfNoEntry: false })?.size ?? 0) === 0) {
          if (Date.now() > flowing)
            throw new Error(`${out} still empty 30 s after FLOOD-START; output:\n${text}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await new Promise((r) => setTimeout(r, 1000));
        const pid = monitorPid(marker);
        const t0 = Date.now();
        process.kill(pid, sig);
        await until(/VMM-EXIT=\d+/, 30_000);
        const ms = Date.now() - t0;
        console.log(`${sig} under a flooding guest: vmm run ended in ${ms} ms`);
        expect(/VMM-EXIT=(\d+)/.exec(text)![1]).toBe('0');
        expect(ms).toBeLessThan(SIGNAL_MS);
        await exited;
        expect(fs.readFileSync(path.join(dir, 'after'), 'utf8')).toBe(
          fs.readFileSync(path.join(dir, 'before'), 'utf8'),
        );
      } finally {
        p.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

/** The monitor's pid: the node process whose command line holds `marker` (script and sh hold it too). */
function monitorPid(marker: string): number {
  const pids = execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  const node = pids.find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0')[0]!.endsWith('node');
    } catch {
      return false;
    }
  });
  if (node === undefined) throw new Error(`no monitor process with ${marker} among ${pids.join(', ')}`);
  return node;
}
