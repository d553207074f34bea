// Kernel command-line additions a host needs, each with its reason, so `vmm run` can print one
// line and `vmm doctor` can list them. The facts behind them were measured on software-emulated
// KVM (kvm_pvm) and are recorded in the project's testing notes.
import fs from 'node:fs';
import type { VirtualizationKind } from '@vmm/hypervisor';
import { splitCmdline, withKernelParams } from '../../boot/cmdline';

export interface HostQuirk {
  /** One kernel command-line option, e.g. "noxsave". */
  option: string;
  /** Why this host needs it, one sentence. */
  reason: string;
}

export const TSC_FREQ_KHZ_PATH = '/sys/devices/system/cpu/cpu0/tsc_freq_khz';
export const CPUINFO_PATH = '/proc/cpuinfo';

/**
 * The command-line additions for a host of this kind. `tscKhz` is the host TSC frequency in kHz:
 * absent, it is read from the host (readHostTscKhz); null, tsc_early_khz is left out.
 */
export function hostQuirks(virtualization: VirtualizationKind, tscKhz?: number | null): HostQuirk[] {
  if (virtualization !== 'software-emulated') return [];
  const khz = tscKhz === undefined ? readHostTscKhz() : tscKhz;
  const quirks: HostQuirk[] = [
    { option: 'noxsave', reason: 'XSAVE/XRSTOR are not emulated, and the guest sees the host CPUID leaf 1' },
    {
      option: 'clearcpuid=smap,popcnt,erms,fsrm',
      reason:
        'CLAC/STAC and POPCNT are not emulated; without ERMS/FSRM the kernel clears memory with ' +
        'rep stosq, which emulates faster than rep stosb',
    },
  ];
  if (typeof khz === 'number' && Number.isInteger(khz) && khz > 0) {
    quirks.push({
      option: `tsc_early_khz=${khz}`,
      reason:
        'the TSC cannot be calibrated under emulation (no PIT reference): this is the host TSC frequency',
    });
  }
  quirks.push({
    option: 'tsc=reliable',
    reason: 'the emulated TSC is the host TSC: skip the clocksource watchdog',
  });
  return quirks;
}

type ReadFile = (path: string) => string;
const readText: ReadFile = (path) => fs.readFileSync(path, 'utf8');

/**
 * The host TSC frequency in kHz: /sys/.../tsc_freq_khz when the host kernel offers it, else the
 * first "cpu MHz" of /proc/cpuinfo; undefined when neither can be read.
 */
export function readHostTscKhz(readFile: ReadFile = readText): number | undefined {
  try {
    const khz = Number.parseInt(readFile(TSC_FREQ_KHZ_PATH).trim(), 10);
    if (Number.isInteger(khz) && khz > 0) return khz;
  } catch {
    // absent on most kernels: fall back to /proc/cpuinfo
  }
  try {
    const match = /^cpu MHz\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*$/m.exec(readFile(CPUINFO_PATH));
    if (match?.[1]) {
      const khz = Math.round(Number.parseFloat(match[1]) * 1000);
      if (khz > 0) return khz;
    }
  } catch {
    // no /proc: not Linux
  }
  return undefined;
}

/** The argument's key: "clearcpuid" for "clearcpuid=smap", "noxsave" for "noxsave". */
function argKey(arg: string): string {
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/**
 * Add the quirks to a command line, skipping any whose key the user already set. They go before a
 * "--" (what follows it belongs to init).
 */
export function applyHostQuirks(cmdline: string, quirks: readonly HostQuirk[]): string {
  const present = new Set(splitCmdline(cmdline).kernel.map(argKey));
  const added = quirks.filter((q) => !present.has(argKey(q.option))).map((q) => q.option);
  return withKernelParams(cmdline, added);
}

/** One line for `vmm run`: "software-emulated KVM: adding noxsave ... to the kernel command line". */
export function describeHostQuirks(quirks: readonly HostQuirk[]): string {
  if (quirks.length === 0) return '';
  return `software-emulated virtualization: adding "${quirks.map((q) => q.option).join(' ')}" to the kernel command line`;
}
