// The Vmm's handling of each kind of vCPU exit, on the scripted backend that stands in for KVM:
// port and MMIO accesses nothing answers, string I/O, and every stop that is not a poweroff or a
// reset, which must end the run with a GuestError that says what happened (`vmm run` exits 1).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { GuestError, Vmm } from '../../src/index';
import type { VmConfig } from '../../src/config';
import { ScriptedHypervisor } from '../support/scripted-hypervisor';
import type { ScriptStep } from '../support/scripted-vcpu';
import { hostProbe, poweroff, scriptedConfig } from '../support/scripted-vmm';

const COM1 = 0x3f8;
const COM1_LSR = COM1 + 5;
/** Ports and addresses no device of this machine claims (no IDE, nothing below the virtio window). */
const NO_PORT = 0x1f0;
const NO_MMIO = 0xc000_0000;

describe('vCPU exits on the scripted backend (stands in for KVM)', () => {
  let kernel: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-exits-'));
  beforeAll(async () => {
    kernel = (await buildGuests())['pvh-info']!;
  }, 300_000);

  const config = (over: Partial<VmConfig> = {}): VmConfig =>
    scriptedConfig(kernel, dir, { cpus: { boot: 1 }, ...over });
  const run = async (script: ScriptStep[], over: Partial<VmConfig> = {}) => {
    const hv = new ScriptedHypervisor([[script]]);
    const c = config(over);
    const result = await (await Vmm.create(c, { hypervisor: hv, probe: hostProbe })).run();
    return { result, vcpu: hv.vms[0]!.vcpus[0]!, serial: c.serial as { path: string } };
  };

  it('string I/O is one access per element: rep outsb lands on COM1 in order, rep insb/insw read each element', async () => {
    const text = [...Buffer.from('rep outsb to COM1\n')];
    const { result, vcpu, serial } = await run([
      { outs: COM1, size: 1, bytes: text },
      { ins: COM1_LSR, size: 1, count: 3 }, // the UART's line status, three times: transmitter empty
      { ins: NO_PORT, size: 2, count: 4 }, // rep insw from nothing
      poweroff,
    ]);
    expect(result.outcome).toBe('poweroff');
    expect(fs.readFileSync(serial.path, 'latin1')).toBe('rep outsb to COM1\n');
    expect(vcpu.portReads()).toEqual([0x60, 0x60, 0x60, ...Array(8).fill(0xff)]);
  });

  it('a port nothing claims reads as all ones and drops writes, at every width', async () => {
    const { result, vcpu, serial } = await run([
      { in: NO_PORT, size: 1 },
      { in: NO_PORT, size: 2 },
      { out: NO_PORT, bytes: [1, 2, 3, 4] },
      { in: NO_PORT, size: 4 },
      poweroff,
    ]);
    expect(result.outcome).toBe('poweroff');
    expect(vcpu.portReads()).toEqual(Array(7).fill(0xff));
    expect(fs.readFileSync(serial.path, 'latin1')).toBe('');
  });

  it('MMIO nothing claims reads as all ones (only the bytes read), with and without virtio devices', async () => {
    const script: ScriptStep[] = [
      { mmioRead: NO_MMIO, len: 4 },
      { mmioWrite: NO_MMIO, bytes: [1, 2, 3, 4] },
      { mmioRead: NO_MMIO, len: 2 },
      { mmioRead: 0xd000_0000, len: 4 }, // the first virtio slot: empty without devices
      poweroff,
    ];
    const bare = await run(script);
    expect(bare.result.outcome).toBe('poweroff');
    expect([...new Uint32Array(bare.vcpu.reads, 0, 3)]).toEqual([0xffffffff, 0xffff, 0xffffffff]);
    const withRng = await run(script, { rng: true });
    expect(withRng.result.outcome).toBe('poweroff');
    // The rng answers in its slot (the magic value "virt"), the rest reads as all ones.
    expect([...new Uint32Array(withRng.vcpu.reads, 0, 3)]).toEqual([0xffffffff, 0xffff, 0x74726976]);
  });

  it.each<[string, ScriptStep, string, RegExp]>([
    ['KVM_EXIT_HLT', { exit: 'hlt' }, 'EHLT', /halted with interrupts it cannot receive \(KVM_EXIT_HLT\)/],
    ['a crash system event', { system: 'crash' }, 'ECRASH', /the guest crashed: system event crash/],
    [
      'KVM_EXIT_FAIL_ENTRY',
      { failEntry: 0x80000021n },
      'EFAILENTRY',
      /could not enter the guest \(hardware entry failure reason 0x80000021\)/,
    ],
    ['an unknown exit reason', { unknownExit: 99 }, 'EERROR', /vCPU error: unknown exit reason 99/],
    [
      'a run() that throws',
      { throws: 'KVM_RUN failed: EFAULT' },
      'EERROR',
      /vCPU error: KVM_RUN failed: EFAULT/,
    ],
  ])('%s ends the run with a GuestError that names it', async (_what, stop, code, message) => {
    const hv = new ScriptedHypervisor([[[stop]]]);
    const vmm = await Vmm.create(config(), { hypervisor: hv, probe: hostProbe });
    const error = await vmm.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GuestError);
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
    expect(hv.vms[0]!.closed).toBe(true);
  });
});
