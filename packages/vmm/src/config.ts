// What a VM is made of: the library's input, which the CLI builds from its flags.
import type { HostForward, OutboundDeny } from '@vmm/net';

/**
 * Output to the terminal, to a file (at most `max` bytes, then dropped and marked), to the
 * library (`capture`: VmmOptions.output receives it, VmmOptions.input feeds it), or nowhere.
 * Nowhere is `off` or `null` (Cloud Hypervisor's Off and Null): for virtio-console, `off` makes no
 * device and `null` one whose output is dropped; COM1 is always there, so both are the latter.
 */
export type SerialConfig =
  | { mode: 'tty' }
  | { mode: 'file'; path: string; max?: number }
  | { mode: 'capture' }
  | { mode: 'off' }
  | { mode: 'null' };

export interface VmConfig {
  kernel: string;
  initrd?: string;
  /** The kernel command line as given; host quirks may be appended (see hostQuirks). */
  cmdline: string;
  /**
   * vCPUs at boot; `nested` shows them VMX/SVM so the guest can be a hypervisor itself (default
   * off; Cloud Hypervisor's is on): the host KVM's nested-virtualization code stays out of the guest's reach.
   */
  cpus: { boot: number; nested?: boolean };
  memory: { size: number };
  serial: SerialConfig;
  /** On a guest reset: false (default) reboots the VM, true ends the run with exit code 0. */
  noReboot: boolean;
  /** 'auto' adds what a software-emulated KVM host needs to a Linux guest's command line. */
  hostQuirks: 'auto' | 'off';
  /** virtio-blk disks, in order (/dev/vda, /dev/vdb, ...). */
  disks?: DiskConfig[];
  /** virtio-net interfaces, in order (eth0, eth1, ...). */
  nets?: NetInterfaceConfig[];
  /** virtio-console (hvc0); default off. */
  console?: SerialConfig;
  /** virtio-rng from the host's CSPRNG. */
  rng?: boolean;
  /** virtio-vsock: the guest's CID, Firecracker's Unix socket, the guest agent. */
  vsock?: VsockConfig;
  /** virtio-fs shares: host directories the guest mounts by tag (`mount -t virtiofs TAG /mnt`). */
  shares?: ShareConfig[];
  /**
   * A seccomp allow-list on every vCPU and device thread (sandbox/seccomp-policies.ts): 'on'
   * (default) kills the monitor on a call outside it, 'log' lets the call through and has the
   * kernel log it, 'off' installs none. Cloud Hypervisor's --seccomp true|log|false.
   */
  seccomp?: 'on' | 'log' | 'off';
}

export interface VsockConfig {
  /** The guest's context ID: 3 to 2^32-2 (0-2 are reserved). */
  cid: number;
  /**
   * Firecracker's hybrid vsock on a Unix socket at this path (mode 0600): a host program connects
   * and writes "CONNECT <port>\n" to reach the guest's port; the guest's connections to host port
   * P go to a listener on "PATH_P".
   */
  socket?: string;
  /**
   * Add the guest agent to the initramfs and start it before the original init (default false
   * here, true from the builder; needs an initrd): vm.exec, copyIn, copyOut, socks5, forward.
   */
  agent?: boolean;
}

export interface ShareConfig {
  /** The name the guest mounts the share by: 1 to 36 bytes of UTF-8 (virtio 1.2 §5.11.4). */
  tag: string;
  /** An existing host directory; the guest sees it and nothing outside it. */
  path: string;
  /** Refuse every change with EROFS. */
  readonly?: boolean;
  /**
   * How long the guest may trust what it was told: 'never' (every host change seen at once),
   * 'auto' (default: names and attributes for 1 s), 'always' (for a share only the guest changes).
   */
  cache?: 'never' | 'auto' | 'always';
}

export interface DiskConfig {
  path: string;
  readonly?: boolean;
  /** GET_ID answer, up to 20 bytes. */
  serial?: string;
  /** 'unmap' (default): DISCARD/WRITE_ZEROES punch holes; 'ignore': the image stays allocated. */
  discard?: 'unmap' | 'ignore';
  /** The most microseconds the disk's I/O thread busy-polls its queue after a request before it
   * sleeps: adaptive, so an idle disk never polls (default DEFAULT_DISK_POLL_US; 0 turns polling off). */
  pollUs?: number;
}

/** The most vCPUs a VM can have: the x86 APIC id's limit (arch/x86_64/cpuid.ts). */
export { MAX_VCPUS } from './arch/x86_64/cpuid';
/** DiskConfig.pollUs when not given, and the largest taken (past it, polling is a spinning thread). */
export const DEFAULT_DISK_POLL_US = 1000;
export const MAX_DISK_POLL_US = 100_000;

export const defaultConfig = {
  cmdline: '',
  cpus: { boot: 1 },
  memory: { size: 512 * 2 ** 20 },
  serial: { mode: 'tty' },
  noReboot: false,
  hostQuirks: 'auto',
} as const satisfies Partial<VmConfig>;

export interface NetInterfaceConfig {
  /** "52:54:00:12:34:56" style; default 52:54:00:12:34:56 (plus the interface index). */
  mac?: string;
  /** A host tap device instead of the userspace NAT (needs CAP_NET_ADMIN). */
  tap?: string;
  /** NAT only: host -> guest port forwards. */
  hostForwards?: HostForward[];
  /** NAT only: the guest may reach the host's 127.0.0.1 at the gateway address. */
  hostLoopback?: boolean;
  /** NAT only: the DNS server to forward to (default: the host's resolver configuration). */
  dns?: { address: string; port: number };
  /** MTU told to the guest (576..65520, default 1500). */
  mtu?: number;
  /**
   * NAT only: destinations the guest may not reach (the host's own addresses, link-local
   * 169.254/16, IPv4 networks). Default: none beyond the NAT's own rules (the host's 127.0.0.1
   * only with hostLoopback), as slirp4netns; a sandbox sets deny host+linklocal at least.
   */
  deny?: OutboundDeny;
}
