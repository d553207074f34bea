// The recommended command line for the test kernel (test-vms/kernel/config). Every option is
// here for a measured reason: see /work/shared/testing.md, "Linux guests on software-emulated
// KVM". Harmless on hardware KVM and under QEMU TCG.
import fs from 'node:fs';

export interface CmdlineOption {
  option: string;
  why: string;
}

export const GUEST_CMDLINE_OPTIONS: readonly CmdlineOption[] = [
  { option: 'console=ttyS0', why: 'kernel messages and /init on COM1, the only UART the kernel has' },
  {
    option: 'reboot=a',
    why: 'reboot through the FADT reset register, so the monitor sees a reset (and a triple fault stays an error); patch 0002 keeps the triple-fault fallback int3-free',
  },
  { option: 'panic=-1', why: 'a panic reboots at once, so the monitor exits instead of hanging' },
  { option: 'rodata=off', why: 'no read-only remapping of kernel data: ~7.7 s less under emulation' },
  { option: 'noreplace-smp', why: 'keep the SMP lock prefixes instead of patching them: ~2.3 s less' },
  { option: 'noxsave', why: 'XSAVE/XRSTOR are not emulated on software-emulated KVM' },
  {
    option: 'clearcpuid=smap,popcnt,erms,fsrm',
    why: 'CLAC/STAC and POPCNT are not emulated and kvm_pvm shows the host CPUID anyway; no ERMS/FSRM makes memset use rep stosq, which emulates faster (~1 s)',
  },
  {
    option: 'rootfstype=ramfs',
    why: 'unpack the initramfs into ramfs rather than tmpfs: ~12 s instead of ~20 s for 2 MB',
  },
];

export interface CmdlineParams {
  /**
   * The TSC frequency in kHz. Under emulation the TSC cannot be calibrated (no PIT reference):
   * pass the host's (or the one the monitor advertises) and it is trusted without a watchdog.
   */
  tscKhz?: number;
  /** Appended as given (e.g. `ip=dhcp`, `virtio_mmio.device=...`). */
  extra?: readonly string[];
}

/** The recommended command line as one string. */
export function guestCmdline(params: CmdlineParams = {}): string {
  const parts = GUEST_CMDLINE_OPTIONS.map((o) => o.option);
  if (params.tscKhz !== undefined) {
    if (!Number.isInteger(params.tscKhz) || params.tscKhz <= 0) {
      throw new RangeError(`tscKhz must be a positive integer (kHz), got ${params.tscKhz}`);
    }
    parts.push(`tsc_early_khz=${params.tscKhz}`, 'tsc=reliable');
  }
  parts.push(...(params.extra ?? []));
  return parts.join(' ');
}

/**
 * The host's TSC frequency in kHz as /proc/cpuinfo reports it ("cpu MHz"), or undefined.
 * Under software-emulated KVM and under TCG (whose TSC is the host's) the guest cannot always
 * calibrate its TSC (no usable PIT reference under load), and then hangs without a clock.
 */
export function hostTscKhz(cpuinfo = '/proc/cpuinfo'): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(cpuinfo, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(text);
  const khz = m ? Math.round(Number(m[1]) * 1000) : NaN;
  return Number.isInteger(khz) && khz > 0 ? khz : undefined;
}
