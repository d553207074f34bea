// `vmm run` flags -> VmConfig. Every bad value is a one-line UsageError naming the flag.
import { parseDnsUpstream, parseHostForward, parseOutboundDeny } from '@vmm/net/options';
import {
  MAX_DISK_POLL_US,
  MAX_VCPUS,
  defaultConfig,
  restoreFromCh,
  splitHostPort,
  type DiskConfig,
  type NetInterfaceConfig,
  type RestoreRequest,
  type SerialConfig,
  type ShareConfig,
  type VmConfig,
  type VsockConfig,
} from '@vmm/vmm';
import type { VmSettings } from '@vmm/vmm/api';
import { parseFlags, type FlagSpec } from '../args/argv';
import { UsageError } from '../args/errors';
import { onOff, onOffValue, parseKeyValues } from '../args/key-values';
import { parseSize } from '../args/size';

export const RUN_FLAGS: Record<string, FlagSpec & { help: string; arg?: string }> = {
  kernel: { value: true, arg: 'PATH', help: 'kernel: PVH ELF, vmlinux ELF or bzImage (required)' },
  initrd: { value: true, arg: 'PATH', help: 'initial ramdisk (initramfs) loaded for the kernel' },
  cmdline: { value: true, arg: 'STR', help: 'kernel command line' },
  cpus: {
    value: true,
    arg: 'boot=N[,nested=on|off]',
    help: `number of vCPUs, 1 to ${MAX_VCPUS} (default boot=1); nested=on shows them VMX/SVM so the guest can run VMs itself (default off)`,
  },
  memory: { value: true, arg: 'size=SIZE', help: 'guest RAM, e.g. 512M or 4G (default size=512M)' },
  serial: {
    value: true,
    arg: 'tty|file=PATH[,max=SIZE]|off|null',
    help: 'COM1 16550: to this terminal (default), a file (at most max bytes, e.g. 100M), or nowhere (off and null alike: the port is always there)',
  },
  disk: {
    value: true,
    repeat: true,
    arg: 'path=FILE[,readonly=on][,serial=ID][,poll_us=N][,discard=unmap|ignore]',
    help: 'virtio-blk disk from a raw image (repeatable: /dev/vda, /dev/vdb, ...)',
  },
  fs: {
    value: true,
    repeat: true,
    arg: 'tag=NAME,path=DIR[,readonly=on][,cache=never|auto|always]',
    help: 'virtio-fs: share host directory DIR, mounted in the guest with `mount -t virtiofs NAME /mnt` (repeatable); cache=always only for a directory nothing but the guest changes (default auto)',
  },
  net: {
    value: true,
    optional: true,
    repeat: true,
    arg: '[mac=..][,tap=..][,hostfwd=..][,host_loopback=on][,dns=IP:PORT][,mtu=N][,deny=host+linklocal+CIDR]',
    help: "virtio-net on the userspace NAT (10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3; --net alone: all defaults) or a tap; repeatable, hostfwd too (tcp:127.0.0.1:8022-:22); deny= refuses the host's own addresses, 169.254/16 and the networks named (default: none)",
  },
  console: {
    value: true,
    arg: 'tty|file=PATH[,max=SIZE]|off|null',
    help: 'virtio-console hvc0 (default off: no device); null: the device, its output dropped; a file holds at most max bytes',
  },
  rng: { value: false, help: 'virtio-rng fed from the host CSPRNG' },
  vsock: {
    value: true,
    arg: 'cid=N[,socket=PATH][,agent=on]',
    help: "virtio-vsock with guest CID N (3 and up); socket=PATH serves Firecracker's hybrid vsock there (CONNECT <port>; the guest's connections to host port P go to PATH_P); agent=on adds the guest agent to the initramfs",
  },
  socks5: {
    value: true,
    arg: 'HOST:PORT',
    help: 'a SOCKS5 proxy (RFC 1928 CONNECT, no auth) on the host whose connections the guest agent opens inside the guest (needs --vsock ...,agent=on)',
  },
  forward: {
    value: true,
    repeat: true,
    arg: 'tcp:HOST:PORT-vsock:GUESTPORT',
    help: "a host TCP port carried to the guest's TCP port GUESTPORT on its loopback, through the agent over vsock (needs --vsock ...,agent=on); repeatable",
  },
  'no-reboot': { value: false, help: 'end with exit code 0 when the guest resets, instead of rebooting it' },
  'host-quirks': {
    value: true,
    arg: 'auto|off',
    help: 'on a software-emulated KVM host, add what a Linux guest needs to its command line (default auto)',
  },
  seccomp: {
    value: true,
    arg: 'true|false|log',
    help: 'a seccomp allow-list on every vCPU and device thread: true kills the monitor on a call outside it (default), log lets it through and has the kernel log it, false installs none',
  },
  'api-socket': {
    value: true,
    arg: 'path=PATH',
    help: "serve Cloud Hypervisor's REST API on this Unix socket (mode 0600; see vmm remote); without --kernel, wait for vm.create and vm.boot",
  },
  restore: {
    value: true,
    arg: 'source_url=file:///DIR[,resume=on|off][,prefault=on|off]',
    help: 'bring back the VM a snapshot in DIR holds (vm.snapshot), paused as it was saved; resume=on (the default without --api-socket) runs it; prefault=on copies the stored guest pages in during the restore instead of as the guest touches them; COM1 comes to this terminal unless --serial says otherwise',
  },
  help: { value: false, help: 'show this help' },
};

/** What every VM of the process gets, also one made through the API: --no-reboot, --host-quirks, --seccomp. */
export function parseVmSettings(flags: ReadonlyMap<string, string[]>): VmSettings {
  const quirks = flags.get('host-quirks')?.[0] ?? 'auto';
  if (quirks !== 'auto' && quirks !== 'off' && quirks !== 'on') {
    throw new UsageError(`--host-quirks: '${quirks}' is not auto or off`);
  }
  const seccompText = flags.get('seccomp')?.[0] ?? 'true';
  const seccomp = ({ true: 'on', false: 'off', log: 'log' } as const)[
    seccompText as 'true' | 'false' | 'log'
  ];
  if (!seccomp) throw new UsageError(`--seccomp: '${seccompText}' is not true, false or log`);
  return { noReboot: flags.has('no-reboot'), hostQuirks: quirks === 'off' ? 'off' : 'auto', seccomp };
}

/** --api-socket path=PATH -> PATH. */
export function parseApiSocket(text: string): string {
  const path = parseKeyValues('--api-socket', text, ['path']).get('path');
  if (path === undefined) throw new UsageError(`--api-socket: path=PATH is required in '${text}'`);
  return path;
}

/**
 * --restore source_url=file:///DIR[,resume=on|off][,prefault=on|off] -> the directory, whether to
 * resume (default `resumeByDefault`) and whether to prefault (default off), as Cloud Hypervisor's
 * --restore takes them.
 */
export function parseRestore(text: string, resumeByDefault: boolean): RestoreRequest {
  const kv = parseKeyValues('--restore', text, ['source_url', 'resume', 'prefault']);
  const url = kv.get('source_url');
  if (url === undefined) throw new UsageError(`--restore: source_url=file:///DIR is required in '${text}'`);
  const resume = onOff('--restore', kv, 'resume');
  try {
    return restoreFromCh({
      source_url: url,
      resume: resume ?? resumeByDefault,
      prefault: onOff('--restore', kv, 'prefault') ?? false,
    });
  } catch (e) {
    throw new UsageError(`--restore: ${(e as Error).message}`);
  }
}

/** What `vmm run` serves on the host besides the VM: through the guest agent. */
export interface RunExtras {
  socks5?: string;
  forwards: { listen: string; guestPort: number }[];
}

/** --socks5 and --forward: each needs the agent (--vsock ...,agent=on). */
export function parseRunExtras(argv: readonly string[], config: VmConfig): RunExtras {
  const { flags } = parseFlags(argv, RUN_FLAGS);
  const socks5 = flags.get('socks5')?.[0];
  const forwards = (flags.get('forward') ?? []).map(parseForward);
  if ((socks5 !== undefined || forwards.length > 0) && !config.vsock?.agent) {
    throw new UsageError('--socks5 and --forward go through the guest agent: add --vsock cid=N,agent=on');
  }
  if (socks5 !== undefined && !splitHostPort(socks5))
    throw new UsageError(`--socks5: '${socks5}' is not HOST:PORT (e.g. 127.0.0.1:1080)`);
  return { socks5, forwards };
}

export function parseForward(text: string): { listen: string; guestPort: number } {
  const m = /^tcp:(.+)-vsock:(\d{1,5})$/.exec(text);
  const guestPort = m ? Number(m[2]) : NaN;
  if (!m || !splitHostPort(m[1]!) || !(guestPort >= 1 && guestPort <= 65535))
    throw new UsageError(
      `--forward: '${text}' is not tcp:HOST:PORT-vsock:GUESTPORT (e.g. tcp:127.0.0.1:8080-vsock:80)`,
    );
  return { listen: m[1]!, guestPort };
}

export function parseRunFlags(argv: readonly string[]): VmConfig | 'help' {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS);
  if (flags.has('help')) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see --help)`);
  const one = (name: string) => flags.get(name)?.[0];

  const kernel = one('kernel');
  if (kernel === undefined)
    throw new UsageError(
      '--kernel PATH is required (or --api-socket path=PATH to take the VM from vm.create)',
    );
  if (kernel === '') throw new UsageError('--kernel needs a path');

  let boot: number = defaultConfig.cpus.boot;
  let nested = false;
  const cpus = one('cpus');
  if (cpus !== undefined) {
    const kv = parseKeyValues('--cpus', cpus, ['boot', 'nested']);
    const text = kv.get('boot');
    if (text === undefined) throw new UsageError('--cpus needs boot=N');
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_VCPUS) {
      throw new UsageError(`--cpus: boot=${text} is not a vCPU count from 1 to ${MAX_VCPUS}`);
    }
    boot = Number(text);
    nested = onOff('--cpus', kv, 'nested') ?? false;
  }

  let size: number = defaultConfig.memory.size;
  const memory = one('memory');
  if (memory !== undefined) {
    const text = parseKeyValues('--memory', memory, ['size']).get('size');
    if (text === undefined) throw new UsageError('--memory needs size=SIZE');
    size = parseSize(text, '--memory size');
    if (size === 0) throw new UsageError('--memory: size must be more than 0');
  }

  let serial: SerialConfig = defaultConfig.serial;
  const serialText = one('serial');
  if (serialText !== undefined) serial = parseSerial('--serial', serialText);

  const settings = parseVmSettings(flags);

  const disks = (flags.get('disk') ?? []).map(parseDisk);
  const nets = (flags.get('net') ?? []).map(parseNet);
  const shares = (flags.get('fs') ?? []).map(parseShare);
  const vsockText = one('vsock');
  const consoleText = one('console');
  const virtioConsole = consoleText === undefined ? undefined : parseSerial('--console', consoleText);
  if (serial.mode === 'tty' && virtioConsole?.mode === 'tty') {
    throw new UsageError(
      '--serial tty and --console tty cannot share the terminal: give one file=PATH or off',
    );
  }

  return {
    kernel,
    initrd: one('initrd'),
    cmdline: one('cmdline') ?? defaultConfig.cmdline,
    cpus: nested ? { boot, nested } : { boot },
    memory: { size },
    serial,
    noReboot: settings.noReboot,
    hostQuirks: settings.hostQuirks,
    disks,
    nets,
    ...(shares.length > 0 ? { shares } : {}),
    console: virtioConsole,
    rng: flags.has('rng'),
    seccomp: settings.seccomp,
    vsock: vsockText === undefined ? undefined : parseVsock(vsockText),
  };
}

export function parseVsock(text: string): VsockConfig {
  const kv = parseKeyValues('--vsock', text, ['cid', 'socket', 'agent']);
  const cidText = kv.get('cid');
  if (cidText === undefined) throw new UsageError(`--vsock: cid=N is required in '${text}'`);
  const cid = /^\d{1,10}$/.test(cidText) ? Number(cidText) : NaN;
  if (!(cid >= 3 && cid <= 0xfffffffe))
    throw new UsageError(`--vsock: cid=${cidText} is not a guest CID from 3 to 4294967294`);
  const agent = onOff('--vsock', kv, 'agent') ?? false;
  const socket = kv.get('socket');
  if (socket === '') throw new UsageError('--vsock: socket= needs a path');
  const out: VsockConfig = { cid, agent };
  if (socket !== undefined) out.socket = socket;
  return out;
}

export function parseDisk(text: string): DiskConfig {
  const kv = parseKeyValues('--disk', text, ['path', 'readonly', 'serial', 'poll_us', 'discard']);
  const path = kv.get('path');
  if (path === undefined) throw new UsageError(`--disk: path=FILE is required in '${text}'`);
  const readonly = onOff('--disk', kv, 'readonly') ?? false;
  const serial = kv.get('serial');
  if (serial !== undefined && Buffer.byteLength(serial) > 20) {
    throw new UsageError(`--disk: serial '${serial}' is longer than 20 bytes (virtio-blk GET_ID)`);
  }
  const poll = kv.get('poll_us');
  if (poll !== undefined && !(/^\d+$/.test(poll) && Number(poll) <= MAX_DISK_POLL_US)) {
    throw new UsageError(
      `--disk: poll_us=${poll} is not a whole number of microseconds from 0 to ${MAX_DISK_POLL_US}`,
    );
  }
  const discard = kv.get('discard');
  if (discard !== undefined && discard !== 'unmap' && discard !== 'ignore')
    throw new UsageError(`--disk: discard=${discard} is not unmap or ignore`);
  const disk: DiskConfig = { path, readonly, serial };
  if (discard !== undefined) disk.discard = discard;
  if (poll !== undefined) disk.pollUs = Number(poll);
  return disk;
}

export function parseShare(text: string): ShareConfig {
  const kv = parseKeyValues('--fs', text, ['tag', 'path', 'readonly', 'cache']);
  const tag = kv.get('tag');
  if (tag === undefined) throw new UsageError(`--fs: tag=NAME is required in '${text}'`);
  if (tag === '' || Buffer.byteLength(tag) > 36)
    throw new UsageError(`--fs: tag '${tag}' is not 1 to 36 bytes (virtio-fs tag)`);
  const path = kv.get('path');
  if (path === undefined || path === '') throw new UsageError(`--fs: path=DIR is required in '${text}'`);
  const readonly = onOff('--fs', kv, 'readonly') ?? false;
  const cache = kv.get('cache');
  if (cache !== undefined && cache !== 'never' && cache !== 'auto' && cache !== 'always')
    throw new UsageError(`--fs: cache=${cache} is not never, auto or always`);
  const share: ShareConfig = { tag, path, readonly };
  if (cache !== undefined) share.cache = cache;
  return share;
}

export function parseSerial(flag: string, text: string): SerialConfig {
  const kv = parseKeyValues(flag, text, ['mode', 'file', 'max'], {
    key: 'mode',
    values: ['tty', 'off', 'null'],
  });
  const file = kv.get('file');
  const mode = kv.get('mode');
  const max = kv.get('max');
  if (file !== undefined && mode !== undefined)
    throw new UsageError(`${flag}: give either file=PATH or tty/off/null`);
  if (max !== undefined && file === undefined) throw new UsageError(`${flag}: max=SIZE bounds a file=PATH`);
  if (file !== undefined) {
    const out: SerialConfig = { mode: 'file', path: file };
    if (max !== undefined) out.max = parseSize(max, `${flag} max`);
    return out;
  }
  if (mode === 'tty' || mode === 'off' || mode === 'null') return { mode };
  throw new UsageError(`${flag}: '${text}' is not tty, file=PATH, off or null`);
}

const NET_KEYS = ['mac', 'tap', 'hostfwd', 'host_loopback', 'dns', 'mtu', 'deny'];

/** `--net` items; `hostfwd` may repeat (one forward each), the other keys may not. */
export function parseNet(text: string): NetInterfaceConfig {
  const net: NetInterfaceConfig = {};
  const seen = new Set<string>();
  for (const part of text === '' ? [] : text.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!NET_KEYS.includes(key))
      throw new UsageError(`--net: unknown key '${key}' (keys: ${NET_KEYS.join(', ')})`);
    if (value === '') throw new UsageError(`--net: '${key}' needs a value`);
    if (key !== 'hostfwd' && seen.has(key)) throw new UsageError(`--net: '${key}' given twice`);
    seen.add(key);
    try {
      if (key === 'mac') net.mac = value;
      else if (key === 'tap') net.tap = value;
      else if (key === 'hostfwd') net.hostForwards = [...(net.hostForwards ?? []), parseHostForward(value)];
      else if (key === 'dns') net.dns = parseDnsUpstream(value);
      else if (key === 'deny') net.deny = parseOutboundDeny(value);
      else if (key === 'host_loopback') net.hostLoopback = onOffValue('--net', key, value);
      else if (key === 'mtu') {
        if (!/^\d+$/.test(value) || Number(value) < 576 || Number(value) > 65520) {
          throw new UsageError(`--net: mtu=${value} is not a number from 576 to 65520`);
        }
        net.mtu = Number(value);
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`--net: ${(e as Error).message}`);
    }
  }
  if (net.tap && (net.hostForwards || net.hostLoopback !== undefined || net.dns || net.deny)) {
    throw new UsageError(
      '--net: hostfwd, host_loopback, dns and deny are NAT options; a tap interface takes none of them',
    );
  }
  return net;
}
