// Vmm.builder(): sugar over VmConfig for the library, in Cloud Hypervisor's vocabulary. Each
// call checks what it is given at once (a bad size, a misspelt option, a path that is no string:
// an error where it was written, not at start()); build() gives the VmConfig, start() boots it.
import { VmmError } from '@vmm/hypervisor';
import {
  MAX_VCPUS,
  defaultConfig,
  type DiskConfig,
  type NetInterfaceConfig,
  type SerialConfig,
  type ShareConfig,
  type VmConfig,
  type VsockConfig,
} from '../config';
import {
  DISK_FIELDS,
  NET_FIELDS,
  SHARE_FIELDS,
  VSOCK_FIELDS,
  fieldFault,
  isBoolean,
  oneOf,
  optional,
  type Check,
} from '../config-shape';
import { parseByteSize } from '../size';
import { Vm, type VmStartOptions } from './vm';

export interface ConsoleOptions {
  /**
   * Deliver the output to the library (vm.console, 'console-line' events); default true. False:
   * the device is there and its output dropped (COM1 is there in every VM anyway).
   */
  capture?: boolean;
  /** Which console: the serial port COM1 (ttyS0, default) or virtio-console (hvc0). */
  device?: 'serial' | 'virtio';
}

export class VmBuilder {
  private kernelPath: string | undefined;
  private initrdPath: string | undefined;
  private commandLine: string = defaultConfig.cmdline;
  private bootCpus: number = defaultConfig.cpus.boot;
  private nestedVirt = false;
  private memorySize: number = defaultConfig.memory.size;
  private serialConfig: SerialConfig = { mode: 'off' };
  private consoleConfig: SerialConfig | undefined;
  private readonly disks: DiskConfig[] = [];
  private readonly nets: NetInterfaceConfig[] = [];
  private readonly shares: ShareConfig[] = [];
  private withRng = false;
  private vsockConfig: VsockConfig | undefined;
  private rebootOnReset = true;
  private seccompSetting: VmConfig['seccomp'] = 'on';
  private quirks: VmConfig['hostQuirks'] = defaultConfig.hostQuirks;

  kernel(path: string): this {
    this.kernelPath = checkPath('kernel', path);
    return this;
  }

  initrd(path: string): this {
    this.initrdPath = checkPath('initrd', path);
    return this;
  }

  cmdline(text: string): this {
    if (typeof text !== 'string')
      throw optionError(`cmdline(${show(text)}): give the command line as a string`);
    this.commandLine = text;
    return this;
  }

  /** vCPUs at boot; `nested: true` lets the guest be a hypervisor itself (VMX/SVM shown; default off). */
  cpus(boot: number, options: { nested?: boolean } = {}): this {
    if (!Number.isInteger(boot) || boot < 1 || boot > MAX_VCPUS)
      throw new VmmError('ECPUS', `cpus(${show(boot)}): give a whole number from 1 to ${MAX_VCPUS}`);
    checkOptions('cpus', options, { nested: optional(isBoolean) });
    this.bootCpus = boot;
    this.nestedVirt = options.nested === true;
    return this;
  }

  /** Guest RAM: bytes, or a size such as '512M' or '2G'. */
  memory(size: number | string): this {
    const n = typeof size === 'number' ? size : parseByteSize(size);
    if (n === undefined || !Number.isSafeInteger(n) || n <= 0)
      throw new VmmError(
        'EMEMORY',
        `memory(${JSON.stringify(size)}): give bytes or a size such as 512M or 2G`,
      );
    this.memorySize = n;
    return this;
  }

  disk(disk: DiskConfig): this {
    checkOptions('disk', disk, DISK_FIELDS);
    this.disks.push({ ...disk });
    return this;
  }

  net(net: NetInterfaceConfig = {}): this {
    checkOptions('net', net, NET_FIELDS);
    this.nets.push({ ...net });
    return this;
  }

  /**
   * A host directory the guest mounts with `mount -t virtiofs TAG /mnt` (virtio-fs); the tag and
   * the directory are checked when the VM is created.
   */
  share(share: ShareConfig): this {
    checkOptions('share', share, SHARE_FIELDS);
    this.shares.push({ ...share });
    return this;
  }

  rng(on = true): this {
    this.withRng = on;
    return this;
  }

  /**
   * virtio-vsock with the guest `cid` (3 and up); the guest agent is added to the initramfs unless
   * `agent: false`; `socket` serves Firecracker's hybrid vsock on a Unix socket too.
   */
  vsock(options: { cid: number; socket?: string; agent?: boolean }): this {
    const { cid } = options ?? {};
    if (!Number.isInteger(cid) || cid < 3 || cid > 0xfffffffe)
      throw new VmmError(
        'EVSOCKCID',
        `vsock({ cid: ${show(cid)} }): the guest's CID is a whole number from 3 to 4294967294`,
      );
    checkOptions('vsock', options, VSOCK_FIELDS);
    this.vsockConfig = { cid, agent: options.agent ?? true };
    if (options.socket !== undefined) this.vsockConfig.socket = options.socket;
    return this;
  }

  /** Where the guest's console goes; capture (the default here) hands it to vm.console. */
  console(options: ConsoleOptions = {}): this {
    checkOptions('console', options, {
      capture: optional(isBoolean),
      device: optional(oneOf('serial', 'virtio')),
    });
    const mode: SerialConfig = options.capture === false ? { mode: 'null' } : { mode: 'capture' };
    if (options.device === 'virtio') this.consoleConfig = mode;
    else this.serialConfig = mode;
    return this;
  }

  /** A guest reset ends the VM instead of rebooting it. */
  noReboot(on = true): this {
    this.rebootOnReset = !on;
    return this;
  }

  seccomp(setting: NonNullable<VmConfig['seccomp']>): this {
    if (!oneOf('on', 'log', 'off')(setting))
      throw optionError(`seccomp(${show(setting)}): give 'on', 'log' or 'off'`);
    this.seccompSetting = setting;
    return this;
  }

  hostQuirks(setting: VmConfig['hostQuirks']): this {
    if (!oneOf('auto', 'off')(setting))
      throw optionError(`hostQuirks(${show(setting)}): give 'auto' or 'off'`);
    this.quirks = setting;
    return this;
  }

  /** The VmConfig this describes (Vmm.create and Vm.start take it). */
  build(): VmConfig {
    if (!this.kernelPath)
      throw new VmmError('ENOKERNEL', 'no kernel: call kernel(path) before build() or start()');
    const config: VmConfig = {
      kernel: this.kernelPath,
      cmdline: this.commandLine,
      cpus: this.nestedVirt ? { boot: this.bootCpus, nested: true } : { boot: this.bootCpus },
      memory: { size: this.memorySize },
      serial: this.serialConfig,
      noReboot: !this.rebootOnReset,
      hostQuirks: this.quirks,
      seccomp: this.seccompSetting,
    };
    if (this.initrdPath) config.initrd = this.initrdPath;
    if (this.disks.length > 0) config.disks = this.disks.map((d) => ({ ...d }));
    if (this.nets.length > 0) config.nets = this.nets.map((n) => ({ ...n }));
    if (this.shares.length > 0) config.shares = this.shares.map((s) => ({ ...s }));
    if (this.consoleConfig) config.console = this.consoleConfig;
    if (this.withRng) config.rng = true;
    if (this.vsockConfig) config.vsock = { ...this.vsockConfig };
    return config;
  }

  /** Boot the VM; resolves once its vCPUs run (see Vm.start). */
  start(options: VmStartOptions = {}): Promise<Vm> {
    return Vm.start(this.build(), options);
  }
}

const show = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

const optionError = (message: string) => new VmmError('EOPTION', message);

/** A path given to kernel() or initrd(): a string that is not empty. */
function checkPath(call: string, path: unknown): string {
  if (typeof path !== 'string' || path === '')
    throw optionError(`${call}(${show(path)}): give the file's path`);
  return path;
}

/** An options object: every field it names is one `fields` knows, of the kind it takes. */
function checkOptions(call: string, value: unknown, fields: Record<string, Check>): void {
  const f = fieldFault(fields, value, true);
  if (!f) return;
  if (f.unknown) throw optionError(`${call}(): unknown option '${f.field}' (the options: ${f.what})`);
  if (f.field === '') throw optionError(`${call}(${show(value)}): give ${f.what}`);
  throw optionError(
    `${call}(): ${f.field} must be ${f.what} (got ${show((value as Record<string, unknown>)[f.field])})`,
  );
}
