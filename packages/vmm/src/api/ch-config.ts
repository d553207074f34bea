// Cloud Hypervisor's VmConfig JSON (cloud-hypervisor.yaml, components/schemas/VmConfig) to our
// VmConfig and back. Only what we can honour is taken; any other field, Cloud Hypervisor's or not,
// is a 400 naming it. The checks the library's builder makes (vCPU count, memory size, vsock CID)
// are its own, reached through VmBuilder; the MAC through the NIC's own parser.
import { VmmError } from '@vmm/hypervisor';
import {
  MAX_VCPUS,
  defaultConfig,
  type DiskConfig,
  type NetInterfaceConfig,
  type SerialConfig,
  type VmConfig,
} from '../config';
import { VmBuilder } from '../library/builder';
import { parseMac } from '../machine/virtio-devices';
import { ApiError } from './errors';
import { JsonObject } from './json-fields';

/** The VmConfig body as vm.info gives it back (the fields vm.create takes). */
export interface ChVmConfig {
  payload: { kernel: string; initramfs?: string; cmdline?: string };
  cpus: { boot_vcpus: number; max_vcpus: number; nested: boolean };
  memory: { size: number };
  disks?: { path: string; readonly: boolean; serial?: string }[];
  net?: { tap?: string; mac?: string; mtu?: number }[];
  rng?: { src: string };
  serial: ChConsoleConfig;
  console: ChConsoleConfig;
  vsock?: { cid: number; socket?: string };
}

export interface ChConsoleConfig {
  mode: 'Off' | 'Null' | 'Tty' | 'File';
  file?: string;
}

/** What a VmConfig carries that Cloud Hypervisor's JSON does not: set by whoever serves the API. */
export type VmSettings = Pick<VmConfig, 'noReboot' | 'hostQuirks' | 'seccomp'>;

export const DEFAULT_SETTINGS: VmSettings = {
  noReboot: defaultConfig.noReboot,
  hostQuirks: defaultConfig.hostQuirks,
  seccomp: 'on',
};

/** The one source of host randomness the virtio-rng takes (Cloud Hypervisor's default src). */
const RNG_SOURCE = '/dev/urandom';
/** virtio-blk GET_ID: at most 20 bytes (virtio 1.2 §5.2.6). */
const DISK_SERIAL_BYTES = 20;
/** MTU told to the guest: 576 (RFC 791's minimum datagram) to 65520, as `vmm run --net mtu=`. */
const MTU_RANGE = { min: 576, max: 65520 };
/** Devices in one list (disks, net): the MMIO window has room for far fewer. */
const MAX_DEVICES = 64;
const MAX_MEMORY = Number.MAX_SAFE_INTEGER;

/** Cloud Hypervisor's VmConfig (a parsed JSON body) as our VmConfig; ApiError 400 on anything we cannot honour. */
export function vmConfigFromCh(
  body: unknown,
  settings: VmSettings = DEFAULT_SETTINGS,
  where = 'vm.create',
): VmConfig {
  const fields = JsonObject.of(body, where);
  // Cloud Hypervisor's `fs` names a vhost-user-fs daemon's socket; vmm serves virtio-fs itself.
  if (fields.has('fs'))
    throw fields.refuse(
      'fs',
      "is not supported: Cloud Hypervisor's fs takes a vhost-user-fs socket, and vmm serves virtio-fs in-process; share a directory with `vmm run --fs tag=NAME,path=DIR` or the library's .share({ tag, path })",
    );
  const top = fields.only(['payload', 'cpus', 'memory', 'disks', 'net', 'rng', 'serial', 'console', 'vsock']);
  const builder = new VmBuilder();

  const payload = top.object('payload', true)!.only(['kernel', 'initramfs', 'cmdline']);
  builder.kernel(payload.string('kernel', { required: true, nonEmpty: true }));
  const initrd = payload.string('initramfs', { nonEmpty: true });
  if (initrd !== undefined) builder.initrd(initrd);
  builder.cmdline(payload.string('cmdline') ?? defaultConfig.cmdline);

  const cpus = top.object('cpus');
  if (cpus) {
    cpus.only(['boot_vcpus', 'max_vcpus', 'nested']);
    const range = { min: 1, max: MAX_VCPUS };
    const boot = cpus.integer('boot_vcpus', { ...range, required: true });
    const max = cpus.integer('max_vcpus', range);
    if (max !== undefined && max !== boot)
      throw cpus.refuse(
        'max_vcpus',
        `(${max}) differs from boot_vcpus (${boot}): vmm has no vCPU hotplug, give the same number`,
      );
    // Absent: off (Cloud Hypervisor's default is on; see docs/rest-api.md).
    const nested = cpus.boolean('nested') ?? false;
    check(where, cpus.at('boot_vcpus'), () => builder.cpus(boot, { nested }));
  }

  const memory = top.object('memory');
  if (memory) {
    memory.only(['size']);
    const size = memory.integer('size', { min: 1, max: MAX_MEMORY, required: true });
    check(where, memory.at('size'), () => builder.memory(size));
  }

  for (const d of top.objects('disks', MAX_DEVICES)) builder.disk(diskFromCh(d));
  for (const n of top.objects('net', MAX_DEVICES)) builder.net(netFromCh(n));

  const rng = top.object('rng');
  if (rng) {
    rng.only(['src']);
    const src = rng.string('src');
    if (src !== undefined && src !== RNG_SOURCE)
      throw rng.refuse(
        'src',
        `is '${src}': the virtio-rng reads only the host's CSPRNG; give ${RNG_SOURCE} or leave it out`,
      );
    builder.rng(true);
  }

  const vsock = top.object('vsock');
  if (vsock) {
    vsock.only(['cid', 'socket']);
    const cid = vsock.integer('cid', { min: 3, max: 0xfffffffe, required: true });
    const socket = vsock.string('socket', { nonEmpty: true });
    check(where, vsock.at('cid'), () => builder.vsock({ cid, agent: false, ...(socket ? { socket } : {}) }));
  }

  const config = builder.build();
  config.serial = consoleFromCh(top.object('serial')) ?? defaultConfig.serial;
  const virtioConsole = consoleFromCh(top.object('console'));
  if (virtioConsole) config.console = virtioConsole;
  if (config.serial.mode === 'tty' && config.console?.mode === 'tty')
    throw top.refuse(
      'console',
      'and serial are both Tty: only one can use the terminal; give the other Off or File',
    );
  config.noReboot = settings.noReboot;
  config.hostQuirks = settings.hostQuirks;
  config.seccomp = settings.seccomp;
  return config;
}

function diskFromCh(d: JsonObject): DiskConfig {
  d.only(['path', 'readonly', 'serial']);
  const disk: DiskConfig = {
    path: d.string('path', { required: true, nonEmpty: true }),
    readonly: d.boolean('readonly') ?? false,
  };
  const serial = d.string('serial');
  if (serial !== undefined) {
    if (Buffer.byteLength(serial) > DISK_SERIAL_BYTES)
      throw d.refuse('serial', `is longer than ${DISK_SERIAL_BYTES} bytes (virtio-blk GET_ID)`);
    disk.serial = serial;
  }
  return disk;
}

function netFromCh(n: JsonObject): NetInterfaceConfig {
  n.only(['tap', 'mac', 'mtu']);
  const net: NetInterfaceConfig = {};
  const tap = n.string('tap', { nonEmpty: true });
  if (tap !== undefined) net.tap = tap;
  const mac = n.string('mac');
  if (mac !== undefined) {
    check(n.where, n.at('mac'), () => parseMac(mac));
    net.mac = mac;
  }
  const mtu = n.integer('mtu', MTU_RANGE);
  if (mtu !== undefined) net.mtu = mtu;
  return net;
}

function consoleFromCh(c: JsonObject | undefined): SerialConfig | undefined {
  if (!c) return undefined;
  c.only(['mode', 'file']);
  const mode = c.string('mode', { required: true });
  const file = c.string('file', { nonEmpty: true });
  if (mode === 'File') {
    if (file === undefined) throw c.refuse('file', 'is required with mode File');
    return { mode: 'file', path: file };
  }
  if (file !== undefined) throw c.refuse('file', `is given with mode ${mode}: it goes with mode File only`);
  if (mode === 'Off') return { mode: 'off' };
  if (mode === 'Null') return { mode: 'null' };
  if (mode === 'Tty') return { mode: 'tty' };
  throw c.refuse('mode', `is '${mode}': vmm takes Off, Null, Tty or File`);
}

/** Run one of the library's own checks; its VmmError becomes a 400 naming the field. */
function check(where: string, field: string, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (e instanceof VmmError) throw new ApiError(400, 'EAPIVALUE', `${where}: ${field}: ${e.message}`);
    throw e;
  }
}

/** A VmConfig in Cloud Hypervisor's form (vm.info): what vm.create takes, defaults filled in. */
export function vmConfigToCh(config: VmConfig): ChVmConfig {
  const out: ChVmConfig = {
    payload: { kernel: config.kernel, cmdline: config.cmdline },
    cpus: { boot_vcpus: config.cpus.boot, max_vcpus: config.cpus.boot, nested: config.cpus.nested ?? false },
    memory: { size: config.memory.size },
    serial: consoleToCh(config.serial),
    console: consoleToCh(config.console ?? { mode: 'off' }),
  };
  if (config.initrd !== undefined) out.payload.initramfs = config.initrd;
  if (config.disks?.length)
    out.disks = config.disks.map((d) => ({
      path: d.path,
      readonly: d.readonly ?? false,
      ...(d.serial !== undefined ? { serial: d.serial } : {}),
    }));
  if (config.nets?.length)
    out.net = config.nets.map((n) => ({
      ...(n.tap !== undefined ? { tap: n.tap } : {}),
      ...(n.mac !== undefined ? { mac: n.mac } : {}),
      ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
    }));
  if (config.rng) out.rng = { src: RNG_SOURCE };
  if (config.vsock)
    out.vsock = {
      cid: config.vsock.cid,
      ...(config.vsock.socket !== undefined ? { socket: config.vsock.socket } : {}),
    };
  return out;
}

function consoleToCh(c: SerialConfig): ChConsoleConfig {
  if (c.mode === 'file') return { mode: 'File', file: c.path };
  if (c.mode === 'tty') return { mode: 'Tty' };
  if (c.mode === 'null') return { mode: 'Null' };
  // 'capture' (the library's) has no Cloud Hypervisor form; neither the API nor `vmm run` makes it.
  return { mode: 'Off' };
}
