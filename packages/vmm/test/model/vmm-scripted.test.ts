// The whole Vmm on a scripted vCPU backend that stands in for KVM (this host has no /dev/kvm): real
// guest memory, real kernel loading and ACPI tables, real vCPU worker threads, UART and ACPI PM
// registers; only the guest's instructions are replaced by a script of exits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { GuestError, Vmm } from '../../src/index';
import type { VmConfig } from '../../src/config';
import { ScriptedHypervisor } from '../support/scripted-hypervisor';
import { printLine, type ScriptStep } from '../support/scripted-vcpu';
import { hostProbe, poweroff, reset, scriptedConfig } from '../support/scripted-vmm';

describe('Vmm on a scripted vCPU backend (stands in for KVM: runs on hosts without it)', () => {
  let kernel: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-scripted-'));
  beforeAll(async () => {
    kernel = (await buildGuests())['pvh-info']!;
  }, 300_000);

  const config = (over: Partial<VmConfig> = {}): VmConfig => scriptedConfig(kernel, dir, over);

  it('boots: loads the kernel, programs vCPU 0 for PVH, prints through the UART, powers off with 0', async () => {
    const hv = new ScriptedHypervisor([[[...printLine('hello from vCPU 0'), poweroff]]]);
    const c = config();
    const vmm = await Vmm.create(c, { hypervisor: hv, probe: hostProbe });
    const r = await vmm.run();
    expect(r).toEqual({ outcome: 'poweroff', exitCode: 0, reboots: 0 });
    expect(fs.readFileSync((c.serial as { path: string }).path, 'latin1')).toBe('hello from vCPU 0\n');
    const vm = hv.vms[0]!;
    expect(vm.irqchip).toBe(true);
    expect(vm.irqfds).toEqual([expect.objectContaining({ gsi: 4 }), expect.objectContaining({ gsi: 23 })]); // COM1, the GED
    expect(vm.vcpus).toHaveLength(2);
    const [v0, v1] = vm.vcpus;
    // PVH entry: 32-bit protected mode, EBX = hvm_start_info, which holds our command line.
    expect(v0!.sregs!.cr0 & 1n).toBe(1n);
    expect(v0!.sregs!.efer & (1n << 10n)).toBe(0n);
    const startInfo = Number(v0!.regs!.rbx);
    const low = vm.snapshot[0]!.bytes;
    const dv = new DataView(low.buffer);
    expect(dv.getUint32(startInfo, true)).toBe(0x336ec578);
    const cmdlineAt = Number(dv.getBigUint64(startInfo + 24, true)); // hvm_start_info.cmdline_paddr
    expect(Buffer.from(low.subarray(cmdlineAt, cmdlineAt + 25)).toString('latin1')).toBe(
      'console=ttyS0 hello=world',
    );
    // Every vCPU gets the boot MSRs, FPU and LAPIC state (read back through the trait's getters).
    for (const v of [v0!, v1!]) {
      expect(v.getMsrs([0x1a0, 0x2ff])).toEqual([
        { index: 0x1a0, data: 1n }, // IA32_MISC_ENABLE: fast strings
        { index: 0x2ff, data: 0x806n }, // MTRR default type: enabled, write-back
      ]);
      expect(v.getFpu()).toMatchObject({ fcw: 0x37f });
      expect(new DataView(v.getLapic().buffer).getUint32(0x350, true)).toBe(0x700); // LINT0 ExtINT
      expect([v.fpuDefaults, v.lapicDefaults]).toEqual([true, true]);
    }
    // Secondary vCPUs are not started by the monitor (they wait for INIT/SIPI) but get CPUID.
    expect(v1!.regs).toBeUndefined();
    expect(v1!.cpuid.length).toBeGreaterThan(0);
  });

  it('a reset reboots the VM from the same config; --no-reboot ends with 0 instead', async () => {
    const hv = new ScriptedHypervisor([[[reset]], [[...printLine('second boot'), poweroff]]]);
    const c = config({ cpus: { boot: 1 } });
    const r = await (await Vmm.create(c, { hypervisor: hv, probe: hostProbe })).run();
    expect(r).toEqual({ outcome: 'poweroff', exitCode: 0, reboots: 1 });
    expect(hv.vms).toHaveLength(2);
    expect(hv.vms.every((vm) => vm.closed)).toBe(true);

    const hv2 = new ScriptedHypervisor([[[reset]]]);
    const r2 = await (
      await Vmm.create(config({ noReboot: true }), { hypervisor: hv2, probe: hostProbe })
    ).run();
    expect(r2).toEqual({ outcome: 'reset', exitCode: 0, reboots: 0 });
  });

  it('a virtio-fs share with a bad tag or no directory is refused before /dev/kvm is opened', async () => {
    const create = (shares: VmConfig['shares']) => Vmm.create(config({ shares }), { probe: hostProbe });
    await expect(create([{ tag: 'x'.repeat(37), path: dir }])).rejects.toMatchObject({ code: 'ESHARETAG' });
    await expect(create([{ tag: '', path: dir }])).rejects.toMatchObject({ code: 'ESHARETAG' });
    await expect(
      create([
        { tag: 'a', path: dir },
        { tag: 'a', path: dir },
      ]),
    ).rejects.toThrow(/given twice/);
    await expect(create([{ tag: 'a', path: path.join(dir, 'none') }])).rejects.toMatchObject({
      code: 'ESHAREPATH',
    });
    await expect(create([{ tag: 'a', path: kernel }])).rejects.toThrow(/is not a directory/);
  });

  it('a triple fault is an error that says so', async () => {
    const hv = new ScriptedHypervisor([[[{ exit: 'shutdown' }]]]);
    const vmm = await Vmm.create(config(), { hypervisor: hv, probe: hostProbe });
    await expect(vmm.run()).rejects.toThrow(GuestError);
    const hv2 = new ScriptedHypervisor([[[{ exit: 'shutdown' }]]]);
    await expect((await Vmm.create(config(), { hypervisor: hv2, probe: hostProbe })).run()).rejects.toThrow(
      /triple-faulted/,
    );
  });

  it('a KVM internal error names the instruction bytes', async () => {
    // struct emulation_failure: flags = INSTRUCTION_BYTES, insn_size = 3, bytes 0f 01 d0 (xgetbv).
    const data = [1n, 0x00d0010f03n, 0n, 0n];
    const hv = new ScriptedHypervisor([[[{ internal: 1, data }]]]);
    await expect((await Vmm.create(config(), { hypervisor: hv, probe: hostProbe })).run()).rejects.toThrow(
      /instruction bytes 0f 01 d0/,
    );
  });

  it('virtio devices: MMIO exits reach their transports on the main thread; ioeventfds, DSDT and command line name them', async () => {
    const disk = path.join(dir, 'disk.img');
    fs.writeFileSync(disk, Buffer.alloc(1024 * 1024));
    const script: ScriptStep[] = [
      { mmioRead: 0xd000_0000, len: 4 }, // disk: MagicValue
      { mmioRead: 0xd000_0004, len: 4 }, // Version
      { mmioRead: 0xd000_0008, len: 4 }, // DeviceID: 2 (block)
      { mmioRead: 0xd000_0208, len: 4 }, // net: DeviceID 1
      { mmioRead: 0xd000_0408, len: 4 }, // rng: DeviceID 4 (entropy)
      { mmioWrite: 0xd000_0070, bytes: [1, 0, 0, 0] }, // disk: Status = ACKNOWLEDGE
      { mmioRead: 0xd000_0070, len: 4 },
      { mmioRead: 0xd000_0608, len: 4 }, // no fourth device: all ones
      poweroff,
    ];
    const hv = new ScriptedHypervisor([[script]]);
    const c = config({
      cpus: { boot: 1 },
      disks: [{ path: disk }],
      nets: [{ hostLoopback: true }],
      rng: true,
    });
    const r = await (await Vmm.create(c, { hypervisor: hv, probe: hostProbe })).run();
    expect(r.outcome).toBe('poweroff');
    const vm = hv.vms[0]!;
    expect([...new Uint32Array(vm.vcpus[0]!.reads, 0, 7)]).toEqual([0x74726976, 2, 2, 1, 4, 1, 0xffffffff]);
    // One ioeventfd per queue at QueueNotify (blk 1, net rx + tx, rng 1), irqfds on GSIs 5 to 7.
    expect(vm.ioEvents).toEqual([
      { address: 0xd000_0050, value: 0 },
      { address: 0xd000_0250, value: 0 },
      { address: 0xd000_0250, value: 1 },
      { address: 0xd000_0450, value: 0 },
    ]);
    expect(vm.irqfds.map((i) => i.gsi).sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 23]);
    const low = Buffer.from(vm.snapshot[0]!.bytes);
    expect(
      low.includes(
        'virtio_mmio.device=512@0xd0000000:5 virtio_mmio.device=512@0xd0000200:6 virtio_mmio.device=512@0xd0000400:7',
      ),
    ).toBe(true);
    expect(low.includes('LNRO0005')).toBe(true);
  });

  it('stop() ends a running VM', async () => {
    const hv = new ScriptedHypervisor([[[]]]);
    const vmm = await Vmm.create(config(), { hypervisor: hv, probe: hostProbe });
    const running = vmm.run();
    await vi.waitFor(() => expect(hv.vms[0]?.vcpus[0]?.waiting).toBe(true), { timeout: 30_000 });
    await vmm.stop();
    expect(await running).toMatchObject({ outcome: 'stopped', exitCode: 0 });
  });

  it('pause() asked again while the vCPUs are parked answers at once (the parked thread slept on the first pause and hung it)', async () => {
    const hv = new ScriptedHypervisor([[[]]]);
    const vmm = await Vmm.create(config({ cpus: { boot: 1 } }), { hypervisor: hv, probe: hostProbe });
    const running = vmm.run();
    await vi.waitFor(() => expect(hv.vms[0]?.vcpus[0]?.waiting).toBe(true), { timeout: 30_000 });
    expect(await vmm.pause()).toBe(true);
    const again = await Promise.race([vmm.pause(), new Promise((r) => setTimeout(() => r('hung'), 5000))]);
    expect(again).toBe(true);
    vmm.resume();
    await vmm.stop();
    expect(await running).toMatchObject({ outcome: 'stopped', exitCode: 0 });
  });

  it('stop() (vmm run on SIGINT or SIGTERM) leaves the terminal as it found it: raw mode off, input let go', async () => {
    const rawModes: boolean[] = [];
    const input = Object.assign(new PassThrough(), {
      isTTY: true,
      setRawMode: (raw: boolean) => rawModes.push(raw),
    });
    const hv = new ScriptedHypervisor([[[]]]);
    const vmm = await Vmm.create(config({ cpus: { boot: 1 }, serial: { mode: 'tty' } }), {
      hypervisor: hv,
      probe: hostProbe,
      input,
    });
    const running = vmm.run();
    await vi.waitFor(() => expect(hv.vms[0]?.vcpus[0]?.waiting).toBe(true), { timeout: 30_000 });
    expect(rawModes).toEqual([true]); // the guest owns the keyboard while it runs
    expect(input.listenerCount('data')).toBe(1);
    await vmm.stop();
    expect(await running).toMatchObject({ outcome: 'stopped', exitCode: 0 });
    expect(rawModes).toEqual([true, false]);
    expect(input.listenerCount('data')).toBe(0);
    expect(input.isPaused()).toBe(true);
  });
});
