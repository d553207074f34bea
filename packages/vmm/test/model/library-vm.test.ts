// The library's VM handle (Vmm.builder().start()) on the scripted vCPU backend that stands in for
// KVM (this tier runs without /dev/kvm): real vCPU threads, the UART writing into the capture
// pipe, the console read on the main thread. What a user sees: start() resolving once the guest
// runs, console.waitFor, console-line/state/exit events, stop and dispose, no fd left behind.
// The same handle boots a Linux guest in test/linux/library-vm.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { Vm, Vmm, VmmError, releaseWarmThreads, type VmExit, type VmState } from '../../src/index';
import { ScriptedHypervisor } from '../support/scripted-hypervisor';
import { printLine } from '../support/scripted-vcpu';
import { hostProbe, poweroff } from '../support/scripted-vmm';

const fds = () =>
  fs
    .readdirSync('/proc/self/fd')
    .map((f) => {
      try {
        return `${f}:${fs.readlinkSync(`/proc/self/fd/${f}`)}`;
      } catch {
        return f;
      }
    })
    .sort();

/**
 * The fds once nothing closes or opens any for a while (a previous test's workers wind down).
 * The worker pool's idle threads (each with its event loop's fds) are the pool's, not a VM's:
 * they are released first (releaseWarmThreads), so what is left is what a VM would leak.
 */
async function settledFds(): Promise<string[]> {
  await releaseWarmThreads();
  let last = fds();
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = fds();
    if (now.join() === last.join()) return now;
    last = now;
  }
  return last;
}

describe('the library VM handle on a scripted vCPU backend (stands in for KVM: runs on hosts without it)', () => {
  let kernel: string;
  beforeAll(async () => {
    kernel = (await buildGuests())['pvh-info']!;
  }, 300_000);

  const builder = () => Vmm.builder().kernel(kernel).cmdline('console=ttyS0').cpus(1).memory('64M').console();

  it('start() resolves once the guest runs; waitFor, console-line and state events; the guest powers off', async () => {
    const before = await settledFds();
    const hv = new ScriptedHypervisor([[[...printLine('booting'), ...printLine('VMM-READY 42'), poweroff]]]);
    const states: VmState[] = [];
    const lines: string[] = [];
    const vm = await builder().start({ hypervisor: hv, probe: hostProbe });
    const notices: string[] = [];
    vm.on('log', (l) => notices.push(l));
    vm.on('state', (s) => states.push(s));
    vm.on('console-line', (l) => lines.push(l));
    // Matched as output arrives: the pattern ends at the newline, or it could match a prefix of the number.
    const m = await vm.console.waitFor(/VMM-READY (\d+)\n/, { timeoutMs: 10_000 });
    expect((m as RegExpMatchArray)[1]).toBe('42');
    const exit = await vm.exited;
    expect(exit).toEqual({ outcome: 'poweroff', exitCode: 0, reboots: 0 });
    expect(vm.state).toBe('stopped');
    expect(states).toContain('stopped');
    // Every line printed before the poweroff was delivered before exit settled.
    expect(vm.console.output).toBe('booting\nVMM-READY 42\n');
    expect(notices).toEqual([]);
    expect(lines.join('|')).toMatch(/VMM-READY 42$/);
    await vm.dispose();
    await releaseWarmThreads();
    await vi.waitFor(() => expect(fds()).toEqual(before), { timeout: 5000 });
  });

  it('stop() ends a guest that runs on, with the exit event; await using releases everything', async () => {
    const before = await settledFds();
    const exits: VmExit[] = [];
    {
      // The script prints, then the vCPU idles in "KVM_RUN" until stopped.
      const hv = new ScriptedHypervisor([[[...printLine('idle now')]]]);
      await using vm = await builder().start({ hypervisor: hv, probe: hostProbe });
      vm.on('exit', (e) => exits.push(e));
      expect(vm.state).toBe('running');
      await vm.console.waitFor('idle now');
      const waiting = vm.console.waitFor('never printed', { timeoutMs: 60_000 });
      const exit = await vm.stop();
      expect(exit.outcome).toBe('stopped');
      // A waiter still waiting when the VM ends learns so at once, not at its timeout.
      await expect(waiting).rejects.toThrow(/ended \(stopped\)/);
    }
    expect(exits).toHaveLength(1);
    await releaseWarmThreads();
    await vi.waitFor(() => expect(fds()).toEqual(before), { timeout: 5000 });
  });

  it("the start's log option hears the monitor's notices (a serial file reaching its limit)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-vm-log-'));
    try {
      const hv = new ScriptedHypervisor([[[...printLine('more than four bytes'), poweroff]]]);
      const heard: string[] = [];
      const config = {
        ...builder().build(),
        serial: { mode: 'file', path: path.join(dir, 'out'), max: 4 } as const,
      };
      const vm = await Vm.start(config, { hypervisor: hv, probe: hostProbe, log: (l) => heard.push(l) });
      await vm.exited;
      expect(heard.join('\n')).toMatch(/serial output reached its limit of 4 bytes/);
      expect(fs.readFileSync(path.join(dir, 'out'), 'latin1')).toMatch(
        /^more\n\[vmm: serial output reached its limit/,
      );
      await vm.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waitFor times out with a VmmError that quotes the last output', async () => {
    const hv = new ScriptedHypervisor([[[...printLine('nothing to see')]]]);
    await using vm = await builder().start({ hypervisor: hv, probe: hostProbe });
    const e = await vm.console.waitFor('VMM-READY', { timeoutMs: 200 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).code).toBe('ETIMEDOUT');
    expect((e as Error).message).toContain('nothing to see');
  });

  it('bad input is refused where it is written, with a typed error', async () => {
    expect(() => Vmm.builder().memory('lots')).toThrow(/memory\("lots"\): give bytes or a size/);
    expect(() => Vmm.builder().cpus(0)).toThrow(VmmError);
    expect(() => Vmm.builder().build()).toThrow(/no kernel/);
    await expect(Vm.start({ ...builder().build(), kernel: '/nonexistent' })).rejects.toThrow(/nonexistent/);
  });

  it('the builder is sugar over VmConfig', () => {
    expect(builder().cpus(2, { nested: true }).build().cpus).toEqual({ boot: 2, nested: true });
    expect(builder().cpus(2).build().cpus).toEqual({ boot: 2 });
    const c = builder().disk({ path: '/d.img', readonly: true }).net({ hostLoopback: true }).rng().build();
    expect(c).toMatchObject({
      kernel,
      cmdline: 'console=ttyS0',
      cpus: { boot: 1 },
      memory: { size: 64 * 2 ** 20 },
      serial: { mode: 'capture' },
      disks: [{ path: '/d.img', readonly: true }],
      nets: [{ hostLoopback: true }],
      rng: true,
      seccomp: 'on',
    });
  });
});
