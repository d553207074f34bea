// Tier 2: the freestanding C test guests under `vmm run` on /dev/kvm, and the same guest under QEMU
// microvm as the reference. Each guest prints what it was handed; we compare with what we gave it.
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { parseGuestOutput, ramSizeOf } from '../../../../test-vms/src/guests/output';
import { runToEnd, vmmCommand, ConsoleProcess } from '../support/console-process';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: test guests on /dev/kvm');
const MiB = 2 ** 20;
const CMDLINE = 'first second="with spaces" third=3 x_y-z=/path/to/file quote\'s';

describe.skipIf(!canRun)('test guests on /dev/kvm under vmm run', () => {
  let g: Record<string, string>;
  beforeAll(async () => {
    g = await buildGuests();
  }, 300_000);

  const vmm = (kernel: string, ...args: string[]) => [
    ...vmmCommand,
    'run',
    '--kernel',
    kernel,
    '--serial',
    'tty',
    ...args,
  ];

  it.each([
    [512, 1],
    [3584, 3],
  ])(
    'PVH guest at %iM with %i vCPUs sees our memory map, command line and ACPI tables',
    async (mib, cpus) => {
      const r = await runToEnd(
        vmm(g['pvh-info']!, '--memory', `size=${mib}M`, '--cpus', `boot=${cpus}`, '--cmdline', CMDLINE),
      );
      expect(r.code, r.err).toBe(0);
      const o = parseGuestOutput(r.out);
      expect(o.done).toBe(true);
      expect(o.cmdline).toBe(CMDLINE);
      const ram = Number(ramSizeOf(o.memory));
      // RAM in the map is what we gave, less what firmware areas take below 1 MiB (at most 1 MiB).
      expect(ram).toBeLessThanOrEqual(mib * MiB);
      expect(ram).toBeGreaterThan(mib * MiB - MiB);
      expect(o.acpi.map((t) => t.signature).sort()).toEqual(
        expect.arrayContaining(['APIC', 'DSDT', 'FACP', 'XSDT']),
      );
      for (const t of o.acpi) expect(t.checksumOk, t.signature).toBe(true);
      expect(o.madtCpus).toBe(cpus);
    },
  );

  it('64-bit guest through the Linux boot protocol reads its zero page', async () => {
    const r = await runToEnd(vmm(g['linux64-info']!, '--memory', 'size=512M', '--cmdline', CMDLINE));
    expect(r.code, r.err).toBe(0);
    const o = parseGuestOutput(r.out);
    expect(o.cmdline).toBe(CMDLINE);
    expect(o.e820.length).toBeGreaterThan(1);
    expect(o.done).toBe(true);
  });

  it('echoes serial input back', async () => {
    const p = new ConsoleProcess(vmm(g.echo!));
    await p.waitFor(/ECHO-READY/, 20_000);
    p.send('hello from the host\nquit\n');
    await p.waitFor(/ECHO-BYE/, 20_000);
    expect(p.out).toContain('hello from the host');
    expect((await p.exited).code).toBe(0);
  });

  it('a triple fault ends the run with a clear message and a non-zero code', async () => {
    const r = await runToEnd(vmm(g['triple-fault']!));
    expect(r.out).toContain('TRIPLE-FAULT-NOW');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/triple-fault/);
  });

  it('QEMU microvm shows the same PVH guest the same facts (memory map aside)', async () => {
    const qemu = execFileSync(
      'qemu-system-x86_64',
      [
        '-enable-kvm',
        '-cpu',
        'host,-arch-capabilities',
        '-M',
        'microvm,acpi=on',
        '-m',
        '512M',
        '-smp',
        '3',
        '-nodefaults',
        '-no-user-config',
        '-nographic',
        '-serial',
        'stdio',
        '-no-reboot',
        '-kernel',
        g['pvh-info']!,
        '-append',
        CMDLINE,
      ],
      { encoding: 'latin1', timeout: 60_000 },
    );
    const ours = await runToEnd(
      vmm(g['pvh-info']!, '--memory', 'size=512M', '--cpus', 'boot=3', '--cmdline', CMDLINE),
    );
    const q = parseGuestOutput(qemu);
    const o = parseGuestOutput(ours.out);
    expect(o.cmdline).toBe(q.cmdline);
    expect(o.madtCpus).toBe(q.madtCpus);
    expect(o.acpi.every((t) => t.checksumOk)).toBe(q.acpi.every((t) => t.checksumOk));
    expect(o.done && q.done).toBe(true);
  });
});
