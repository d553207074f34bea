// probe(): what this host offers the KVM backend, and for each reason it cannot be used, the fix.
// Reads /dev, /proc, /sys and /etc only (no dmesg, no root needed); the roots are injectable so
// tests cover every case with fixture trees. Virtualization kinds:
//   hardware           vmx/svm in /proc/cpuinfo
//   software-emulated  no vmx/svm, but kvm_pvm loaded and /dev/kvm present (KVM on a PVM host)
//   none               anything else
import fs from 'node:fs';
import path from 'node:path';
import {
  KVM_API_VERSION,
  KVM_CHECK_EXTENSION,
  KVM_GET_API_VERSION,
  REQUIRED_CAPABILITIES,
} from './kvm/constants';
import { describeErrno } from './sys/errno';
import { lastErrno, libc } from './sys/libc';
import type { ProbeResult, VirtualizationKind } from './types';

export interface ProbeRoots {
  dev: string;
  proc: string;
  sys: string;
  etc: string;
}

/** What opening the KVM device told us. */
export type KvmQuery =
  | { accessible: false; error: string }
  | {
      accessible: true;
      apiVersion?: number;
      error?: string;
      extensions: { name: string; present: boolean }[];
    };

export interface ProbeOptions {
  roots?: Partial<ProbeRoots>;
  /** Opens the device and asks it; the default does the real ioctls. */
  queryKvm?: (devicePath: string) => KvmQuery;
}

const O_RDWR = 2;
const O_CLOEXEC = 0x80000;

/** The real query: open, KVM_GET_API_VERSION, KVM_CHECK_EXTENSION for every capability we use. */
export function queryKvmDevice(devicePath: string): KvmQuery {
  const c = libc();
  const fd = c.open(devicePath, O_RDWR | O_CLOEXEC);
  if (fd < 0) return { accessible: false, error: describeErrno(lastErrno()) };
  try {
    const version = c.ioctlInt(fd, KVM_GET_API_VERSION, 0);
    if (version < 0)
      return {
        accessible: true,
        error: `KVM_GET_API_VERSION failed: ${describeErrno(lastErrno())}`,
        extensions: [],
      };
    const extensions = REQUIRED_CAPABILITIES.map(({ name, cap }) => ({
      name,
      present: c.ioctlInt(fd, KVM_CHECK_EXTENSION, cap) > 0,
    }));
    return { accessible: true, apiVersion: version, extensions };
  } finally {
    c.close(fd);
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Flags of the first CPU in /proc/cpuinfo, and its model name. */
function cpuInfo(text: string | undefined): { flags: Set<string>; model?: string } {
  const flags =
    /^flags\s*:\s*(.*)$/m
      .exec(text ?? '')?.[1]
      ?.trim()
      .split(/\s+/) ?? [];
  const model = /^model name\s*:\s*(.*)$/m.exec(text ?? '')?.[1]?.trim();
  return model === undefined ? { flags: new Set(flags) } : { flags: new Set(flags), model };
}

/** The name of group `gid` from /etc/group, or undefined. */
function groupName(etc: string, gid: number): string | undefined {
  for (const line of (readText(path.join(etc, 'group')) ?? '').split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === gid) return name;
  }
  return undefined;
}

export function probe(options: ProbeOptions = {}): ProbeResult {
  const roots: ProbeRoots = { dev: '/dev', proc: '/proc', sys: '/sys', etc: '/etc', ...options.roots };
  const devicePath = path.join(roots.dev, 'kvm');
  const module = (name: string) => fs.existsSync(path.join(roots.sys, 'module', name));
  const { flags, model } = cpuInfo(readText(path.join(roots.proc, 'cpuinfo')));
  const hardware = flags.has('vmx') || flags.has('svm');
  const vendorModule = flags.has('svm') ? 'kvm_amd' : 'kvm_intel';
  const underHypervisor = flags.has('hypervisor');
  const pvm = module('kvm_pvm');
  const present = fs.existsSync(devicePath);

  const result: ProbeResult = {
    backend: 'kvm',
    present,
    accessible: false,
    extensions: [],
    virtualization: 'none',
    problems: [],
    details: {},
  };
  if (model) result.details['cpu'] = model;
  const kernel = readText(path.join(roots.proc, 'sys/kernel/osrelease'))?.trim();
  if (kernel) result.details['kernel'] = kernel;
  const loaded = ['kvm_intel', 'kvm_amd', 'kvm_pvm'].filter(module);
  result.details['module'] =
    loaded.length > 0 ? loaded.join(', ') : module('kvm') ? 'kvm (no vendor module)' : 'none';
  result.details['cpu virtualization'] = hardware
    ? flags.has('vmx')
      ? 'vmx (VT-x)'
      : 'svm (AMD-V)'
    : 'none';
  if (underHypervisor) result.details['running under'] = 'a hypervisor (cpuinfo flag "hypervisor")';

  const virtualization: VirtualizationKind = hardware
    ? 'hardware'
    : pvm && present
      ? 'software-emulated'
      : 'none';
  result.virtualization = virtualization;

  if (!present) {
    result.problems.push(
      absentProblem({ hardware, pvm, underHypervisor, vendorModule, kvm: module('kvm'), devicePath }),
    );
    return result;
  }

  const q = (options.queryKvm ?? queryKvmDevice)(devicePath);
  if (!q.accessible) {
    result.problems.push(permissionProblem(devicePath, roots.etc, q.error));
    return result;
  }
  result.accessible = true;
  result.extensions = q.extensions;
  if (q.apiVersion !== undefined) result.apiVersion = q.apiVersion;
  if (q.error) {
    result.problems.push({
      problem: `${devicePath} opens but does not answer as KVM (${q.error})`,
      fix: `check that ${devicePath} is the KVM device (character device 10:232)`,
    });
  } else if (q.apiVersion !== KVM_API_VERSION) {
    result.problems.push({
      problem: `${devicePath} speaks KVM API ${q.apiVersion}, not ${KVM_API_VERSION}`,
      fix: 'use a Linux kernel with the standard KVM API',
    });
  }
  const missing = q.extensions.filter((e) => !e.present).map((e) => e.name);
  if (missing.length > 0) {
    result.problems.push({
      problem: `this host's KVM lacks ${missing.join(', ')}`,
      fix: 'use a newer host kernel (Linux 4.14 or later has every extension vmm needs)',
    });
  }
  return result;
}

function absentProblem(h: {
  hardware: boolean;
  pvm: boolean;
  underHypervisor: boolean;
  vendorModule: string;
  kvm: boolean;
  devicePath: string;
}): { problem: string; fix: string } {
  if (h.pvm && !h.hardware) {
    return {
      problem:
        `kvm_pvm is loaded but ${h.devicePath} is absent: this host kernel is itself a kvm-pvm guest ` +
        `(${h.underHypervisor ? 'the CPU reports a hypervisor' : 'no VT-x/AMD-V'}), and kvm_pvm does not bind inside one`,
      fix:
        'run vmm on a host with hardware virtualization (VT-x/AMD-V), on a machine whose kernel is not a PVM guest ' +
        '(kvm_pvm then provides /dev/kvm), or on a VM with nested virtualization enabled',
    };
  }
  if (!h.hardware) {
    return {
      problem: `${h.devicePath} is absent and the CPU shows no VT-x/AMD-V (no vmx or svm flag in /proc/cpuinfo)`,
      fix: h.underHypervisor
        ? 'this is a virtual machine: enable nested virtualization in its hypervisor, then modprobe kvm_intel or kvm_amd'
        : 'enable VT-x/AMD-V (Intel Virtualization Technology / SVM) in the firmware setup, then modprobe kvm_intel or kvm_amd',
    };
  }
  if (!h.kvm) {
    return {
      problem: `${h.devicePath} is absent: the KVM modules are not loaded`,
      fix: `sudo modprobe ${h.vendorModule} (and add it to /etc/modules-load.d to load it at boot)`,
    };
  }
  return {
    problem: `${h.devicePath} is absent although the kvm module is loaded: ${h.vendorModule} is not`,
    fix: `sudo modprobe ${h.vendorModule}; if it fails, enable VT-x/AMD-V in the firmware setup (dmesg says "disabled by bios")`,
  };
}

function permissionProblem(devicePath: string, etc: string, error: string): { problem: string; fix: string } {
  const problem = `${devicePath} is present but cannot be opened (${error})`;
  let gid: number;
  try {
    gid = fs.statSync(devicePath).gid;
  } catch {
    return { problem, fix: `give your user read-write access to ${devicePath}` };
  }
  const group = groupName(etc, gid);
  return {
    problem,
    fix: group
      ? `add your user to the group that owns ${devicePath} (sudo usermod -aG ${group} $USER), then log in again`
      : `add your user to the group that owns ${devicePath} (gid ${gid}), then log in again`,
  };
}
