// What the Vmm tests on the scripted backend share: a host probe that says KVM is there, the
// guest's ACPI poweroff and reset as script steps, and a config around a real kernel image.
import path from 'node:path';
import type { ProbeResult } from '@vmm/hypervisor';
import {
  RESET_PORT,
  RESET_VALUE,
  S5_SLP_TYP,
  SLEEP_CONTROL_PORT,
  SLP_EN,
  SLP_TYP_SHIFT,
} from '../../src/arch/x86_64/acpi/index';
import type { VmConfig } from '../../src/config';
import type { ScriptStep } from './scripted-vcpu';

export const poweroff: ScriptStep = {
  out: SLEEP_CONTROL_PORT,
  bytes: [(S5_SLP_TYP << SLP_TYP_SHIFT) | SLP_EN],
};
export const reset: ScriptStep = { out: RESET_PORT, bytes: [RESET_VALUE] };

export const hostProbe: ProbeResult = {
  backend: 'kvm',
  present: true,
  accessible: true,
  extensions: [],
  virtualization: 'hardware',
  problems: [],
  details: {},
};

/** A config booting `kernel` (its code never runs: the script stands in), serial output to a file in `dir`. */
export function scriptedConfig(kernel: string, dir: string, over: Partial<VmConfig> = {}): VmConfig {
  return {
    kernel,
    cmdline: 'console=ttyS0 hello=world',
    cpus: { boot: 2 },
    memory: { size: 256 * 2 ** 20 },
    serial: { mode: 'file', path: path.join(dir, `serial-${Math.random()}`) },
    noReboot: false,
    hostQuirks: 'auto',
    ...over,
  };
}
