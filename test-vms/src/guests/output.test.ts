import { describe, expect, it } from 'vitest';
import { parseGuestOutput, ramSizeOf } from './output';

// A pvh-info run under QEMU microvm (512M, 3 CPUs), as printed, with a monitor line mixed in.
const PVH_INFO = [
  'START_INFO magic=0x336ec578 version=1 flags=0x0 nr_modules=0',
  'MEM addr=0x0 size=0x9fc00 type=1',
  'MEM addr=0x9fc00 size=0x400 type=2',
  'MEM addr=0xd0000 size=0x20000 type=4',
  'MEM addr=0xf0000 size=0x10000 type=2',
  'MEM addr=0x100000 size=0x1ff00000 type=1',
  'MEM addr=0x0 size=0x0 type=0',
  `CMDLINE a b="c d" \\x=1 'q'`,
  'CMDLINE-END',
  'monitor: something unrelated',
  'RSDP addr=0xf34d0 source=start_info revision=2',
  'ACPI RSDP len=36 checksum=ok',
  'ACPI XSDT len=52 checksum=ok',
  'ACPI FACP len=268 checksum=ok',
  'ACPI APIC len=98 checksum=bad',
  'ACPI DSDT len=336 checksum=ok',
  'MADT CPUS 3',
  'DONE',
  'POWEROFF S5 slp_typ=5 reg=sleep_control',
  '',
].join('\n');

describe('parseGuestOutput', () => {
  it('reads every line of a pvh-info report', () => {
    const out = parseGuestOutput(PVH_INFO);
    expect(out.startInfo).toEqual({ magic: 0x336ec578, version: 1, flags: 0, nrModules: 0 });
    expect(out.memory).toHaveLength(6);
    expect(out.memory[4]).toEqual({ addr: 0x100000n, size: 0x1ff00000n, type: 1 });
    expect(out.e820).toEqual([]);
    expect(out.cmdline).toBe(`a b="c d" \\x=1 'q'`);
    expect(out.rsdp).toEqual({ addr: 0xf34d0n, source: 'start_info', revision: 2 });
    expect(out.acpi.map((t) => t.signature)).toEqual(['RSDP', 'XSDT', 'FACP', 'APIC', 'DSDT']);
    expect(out.acpi[3]).toEqual({ signature: 'APIC', length: 98, checksumOk: false });
    expect(out.madtCpus).toBe(3);
    expect(out.done).toBe(true);
    expect(out.powerOff).toEqual({ slpTyp: 5, register: 'sleep_control' });
    expect(out.powerOffFailed).toBe(false);
    expect(out.errors).toEqual([]);
    expect(out.other).toEqual(['monitor: something unrelated']);
  });

  it('accepts \\r\\n line ends', () => {
    const out = parseGuestOutput(PVH_INFO.replace(/\n/g, '\r\n'));
    expect(out.cmdline).toBe(`a b="c d" \\x=1 'q'`);
    expect(out.madtCpus).toBe(3);
    expect(out.done).toBe(true);
  });

  it('keeps a command line with newlines, an empty one, and one ending the output', () => {
    expect(parseGuestOutput('CMDLINE one\ntwo\n\nCMDLINE-END\nDONE\n').cmdline).toBe('one\ntwo\n');
    expect(parseGuestOutput('E820 addr=0x0 size=0x1 type=1\nCMDLINE \nCMDLINE-END\n').cmdline).toBe('');
    expect(parseGuestOutput('CMDLINE x=1\nCMDLINE-END').cmdline).toBe('x=1');
    expect(parseGuestOutput('CMDLINE truncated\n').cmdline).toBeUndefined();
  });

  it('collects markers, errors and a failed power-off', () => {
    const out = parseGuestOutput(
      'EXITS-BEGIN n=100000\nEXITS-END\nERROR no FADT: cannot power off\nPOWEROFF-FAILED\nECHO-READY\n',
    );
    expect(out.markers).toEqual(['EXITS-BEGIN n=100000', 'EXITS-END', 'ECHO-READY']);
    expect(out.errors).toEqual(['no FADT: cannot power off']);
    expect(out.powerOffFailed).toBe(true);
    expect(out.done).toBe(false);
  });
});

describe('ramSizeOf', () => {
  it('counts usable RAM above 1 MiB plus the whole first MiB', () => {
    expect(ramSizeOf(parseGuestOutput(PVH_INFO).memory)).toBe(512n << 20n);
    const above4g = [
      { addr: 0n, size: 0x9fc00n, type: 1 },
      { addr: 0x100000n, size: 0xbff00000n, type: 1 },
      { addr: 0x100000000n, size: 0x20000000n, type: 1 },
      { addr: 0xfeff0000n, size: 0x10000n, type: 2 },
    ];
    expect(ramSizeOf(above4g)).toBe(3584n << 20n);
  });
});
