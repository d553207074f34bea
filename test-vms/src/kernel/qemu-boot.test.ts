// Builds the test kernel and initramfs and boots them under QEMU microvm under TCG (seconds, where
// software-emulated KVM takes a minute; qemuLinuxAccel): the reference for how our kernel behaves
// on a minimal x86 machine with ACPI. One boot, all checks: VMM-READY, both CPUs online, memory size, a system call through
// the page-fault path of patch 0003, ctrl-c through the console's job control, no ACPI errors,
// and `poweroff -f` ending QEMU with exit status 0.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInitramfs } from '../initramfs/build';
import { READY_MARKER } from '../initramfs/files';
import { buildKernel, KERNEL_TARBALL, type KernelArtifacts } from './build';
import { guestCmdline, hostTscKhz } from './cmdline';
import { ConsoleSession } from './console-session';
import { QEMU, hasQemu, qemuLinuxAccel } from '../qemu-host.test-support';

const hasSource = fs.existsSync(KERNEL_TARBALL);
const canRun = hasQemu && hasSource;
if (!canRun) console.warn(`SKIP (no ${hasQemu ? KERNEL_TARBALL : QEMU}): the QEMU boot of the test kernel`);
const BOOT_MS = 90_000;
const STEP_MS = 20_000;

/** ACPICA's own error and warning lines, exception codes, and ACPI switching itself off. */
const ACPI_TROUBLE =
  /ACPI( BIOS)? (Error|Warning)|\bAE_[A-Z_]+|ACPI: .*(fail|disabl(ed|ing) ACPI|Interpreter disabled)/i;

describe.skipIf(!canRun)('test kernel under QEMU microvm', () => {
  let kernel: KernelArtifacts;
  let initrd: string;
  let qemu: ChildProcessWithoutNullStreams | undefined;
  let serial: ConsoleSession;
  let exit: Promise<number | null>;
  let spawnedAt = 0;

  beforeAll(async () => {
    const t = Date.now();
    kernel = await buildKernel();
    initrd = await buildInitramfs();
    console.log(`kernel and initramfs ready in ${Math.round((Date.now() - t) / 1000)} s`);
    const args = [
      ...qemuLinuxAccel,
      ['-M', 'microvm,acpi=on'],
      ['-m', '256M', '-smp', '2', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio'],
      ['-kernel', kernel.vmlinux, '-initrd', initrd, '-append', guestCmdline({ tscKhz: hostTscKhz() })],
    ].flat();
    spawnedAt = Date.now();
    qemu = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    serial = new ConsoleSession(qemu.stdout, qemu.stdin);
    qemu.stderr.on('data', (b: Buffer) => process.stderr.write(`qemu: ${b.toString()}`));
    const proc = qemu;
    exit = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  }, 60 * 60_000);

  afterAll(() => {
    if (qemu && qemu.exitCode === null) qemu.kill('SIGKILL');
  });

  it(
    'boots, runs the shell, sees 2 CPUs and 256M, syscall via #PF and ctrl-c work, powers off with status 0',
    async () => {
      const ready = await serial.waitFor(new RegExp(`${READY_MARKER} ([0-9.]+)`), BOOT_MS);
      const bootLog = serial.output;
      console.log(
        `TCG boot: VMM-READY after ${((Date.now() - spawnedAt) / 1000).toFixed(2)} s ` +
          `(guest uptime ${ready[1]} s)`,
      );

      serial.send('echo "NPROC=$(nproc)"\n');
      expect((await serial.waitFor(/NPROC=(\d+)/, STEP_MS))[1]).toBe('2');

      serial.send('echo "MEM=$(head -n1 /proc/meminfo)"\n');
      const memKb = Number((await serial.waitFor(/MEM=MemTotal:\s+(\d+) kB/, STEP_MS))[1]);
      expect(memKb).toBeGreaterThan(200 * 1024);
      expect(memKb).toBeLessThanOrEqual(256 * 1024);

      // Patch 0003: a "syscall" that faults on entry_SYSCALL_64 from user mode still runs.
      // The address comes from the vmlinux's symbol table (no KASLR in this config): reading
      // /proc/kallsyms in the guest takes minutes of emulated kernel code on software KVM.
      serial.send(
        `syscall-via-fault ${symbolAddress(kernel.vmlinux, 'entry_SYSCALL_64')}; echo "PROBE-RC=$?"\n`,
      );
      const probe = await serial.waitFor(/PROBE-RC=(\d+)/, STEP_MS);
      expect(serial.output).toMatch(/^SYSCALL-VIA-FAULT-OK\r?$/m);
      expect(probe[1]).toBe('0');

      // Job control: ctrl-c reaches the foreground job only if the shell owns the tty.
      serial.send('sleep 600\n');
      await new Promise((r) => setTimeout(r, 1500));
      serial.send('\x03');
      serial.send('echo "CTRLC-$((6*7))"\n');
      await serial.waitFor(/CTRLC-42/, STEP_MS);

      serial.send('poweroff -f\n');
      const code = await Promise.race([
        exit,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STEP_MS)),
      ]);
      expect(code).toBe(0);
      expect(serial.output).toMatch(/reboot: Power down/);

      expect(bootLog).toMatch(/ACPI: Interpreter enabled/);
      expect(bootLog.split('\n').filter((l) => ACPI_TROUBLE.test(l))).toEqual([]);
      expect(serial.output).not.toMatch(/Kernel panic|BUG:|Oops|WARNING:/);
    },
    10 * 60_000,
  );
});

/** A symbol's address in an ELF, in hex, as binutils' nm prints it. */
function symbolAddress(elf: string, name: string): string {
  const line = execFileSync('nm', [elf], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`${name} is not in ${elf}'s symbol table`);
  return line.split(' ')[0]!;
}
