// The virtio-mmio devices of a VM: created once from the config (so a bad disk image is reported
// before a VM exists, and disks stay open across reboots), and per boot placed in the MMIO window
// with a transport, an irqfd and one ioeventfd per queue (a kick never needs a vCPU exit).
import type { EventNotifier, LogSink, VirtualMachine } from '@vmm/hypervisor';
import { VmmError } from '@vmm/hypervisor';
import {
  ConsoleDevice,
  MMIO_SLOT_SIZE,
  MmioTransport,
  RngDevice,
  mmioRegisters,
  type MmioTransportState,
  type VirtioDevice,
} from '@vmm/virtio';
import type * as FsEntry from '@vmm/virtio/fs';
import type * as NetEntry from '@vmm/virtio/net';
import fs from 'node:fs';
import path from 'node:path';
import type { VirtioMmioAcpiDevice } from '../arch/x86_64/acpi/index';
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_MAX_SLOTS, virtioMmioSlotAddress } from '../arch/x86_64/index';
import { GED_GSI } from '../arch/x86_64/acpi/registers';
import type { NetInterfaceConfig, SerialConfig, ShareConfig, VmConfig } from '../config';
import type { EventfdPoller } from '../io/eventfd-poller';
import type { DevicesState } from '../snapshot/devices';
import { ThreadedBlkDevice } from '../io/threaded-blk-device';
import { ThreadedDevice } from '../io/threaded-device';
import { openOutputFile, type OutputStart } from './output-file';
import type { MmioHandler } from '../vcpu/mmio-mailbox';
import type { VirtioIsrSpec } from '../vcpu/virtio-isr-window';
import { nodeNet } from '../io/node-net';

/** IOAPIC inputs for virtio devices: 5 up to the one below the GED's (4 is COM1; 0-2 the PIT and cascade). */
export const VIRTIO_FIRST_GSI = 5;
const LAST_GSI = GED_GSI - 1;

/**
 * The VM's devices. The network, vsock and virtio-fs devices' modules (the NAT, the vsock stream
 * machinery, the FUSE server) are imported here, and only for a VM that has them.
 */
export async function createVirtioDevices(
  config: VmConfig,
  log?: LogSink,
  captured?: (chunk: Buffer) => void,
  /** A console file: emptied (a new VM) or appended to (a restored one goes on). */
  output: OutputStart = 'new',
): Promise<VirtioDevice[]> {
  checkShares(config.shares ?? []);
  const [net, vsock, fsShare] = await Promise.all([
    config.nets?.length ? import('@vmm/virtio/net') : undefined,
    config.vsock ? import('@vmm/virtio/vsock') : undefined,
    config.shares?.length ? import('@vmm/virtio/fs') : undefined,
  ]);
  const devices: VirtioDevice[] = [];
  try {
    for (const d of config.disks ?? []) {
      devices.push(
        new ThreadedBlkDevice({
          path: d.path,
          readonly: d.readonly,
          serial: d.serial,
          discard: d.discard,
          pollUs: d.pollUs,
          log,
          seccomp: config.seccomp ?? 'on',
        }),
      );
    }
    if (net) config.nets!.forEach((n, i) => devices.push(createNetDevice(net, n, i, log)));
    const c = config.console;
    if (c && c.mode !== 'off') devices.push(createConsole(c, log, captured, output));
    if (config.rng) devices.push(new RngDevice());
    if (vsock && config.vsock) devices.push(new vsock.VsockDevice({ guestCid: config.vsock.cid, log }));
    if (fsShare) for (const sh of config.shares!) devices.push(createShareDevice(fsShare, sh, config, log));
  } catch (e) {
    for (const d of devices) d.close?.();
    throw e;
  }
  const max = Math.min(VIRTIO_MMIO_MAX_SLOTS, LAST_GSI - VIRTIO_FIRST_GSI + 1);
  if (devices.length > max) throw new RangeError(`at most ${max} virtio devices fit this machine`);
  return devices;
}

/** virtio-console on the terminal or a file (bounded by its `max`); its fd is closed with the device. */
function createConsole(
  c: Exclude<SerialConfig, { mode: 'off' }>,
  log: LogSink | undefined,
  captured: ((chunk: Buffer) => void) | undefined,
  output: OutputStart,
): VirtioDevice {
  if (c.mode === 'tty') return new ConsoleDevice({ output: process.stdout, input: process.stdin, log });
  if (c.mode === 'null') return new ConsoleDevice({ log }); // present, its output dropped
  if (c.mode === 'capture') {
    const deliver = captured ?? (() => {});
    return new ConsoleDevice({
      output: { write: (chunk) => deliver(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)) },
      log,
    });
  }
  const fd = openOutputFile(c.path, 'console output', output);
  if (fs.fstatSync(fd).isFIFO()) {
    // A FIFO takes output only as fast as its reader. Written as a stream, its backpressure makes
    // the guest wait, not this thread (a write to it here would hold the event loop, signals and
    // all, for as long as the reader does not read). `max` bounds a file's size: a FIFO has none.
    const out = new (nodeNet().Socket)({ fd, readable: false, writable: true });
    const dev = new ConsoleDevice({ output: out, log });
    return Object.assign(dev, {
      close: () => {
        ConsoleDevice.prototype.close.call(dev);
        out.destroy(); // what the reader had not taken is dropped; closes fd
      },
    });
  }
  // `max` bounds the file, what a restored VM wrote there before its snapshot included.
  const before = fs.fstatSync(fd).size;
  const outputLimit = c.max === undefined ? undefined : Math.max(0, c.max - before);
  const dev = new ConsoleDevice({ output: fd, outputLimit, log });
  return Object.assign(dev, {
    close: () => {
      ConsoleDevice.prototype.close.call(dev);
      fs.closeSync(fd);
    },
  });
}

/** The most bytes of a virtio-fs tag (virtio 1.2 §5.11.4: char tag[36], UTF-8, NUL-padded). */
export const SHARE_TAG_MAX = 36;

/** Each share's tag, path and cache mode, checked before any device or /dev/kvm is opened. */
export function checkShares(shares: readonly ShareConfig[]): void {
  const tags = new Set<string>();
  for (const sh of shares) {
    const bytes = Buffer.byteLength(sh.tag ?? '');
    if (typeof sh.tag !== 'string' || bytes === 0 || bytes > SHARE_TAG_MAX || sh.tag.includes('\0'))
      throw new VmmError(
        'ESHARETAG',
        `share tag '${sh.tag}' is ${bytes} bytes: give a name of 1 to ${SHARE_TAG_MAX} bytes (UTF-8, no NUL) to mount it by`,
      );
    if (tags.has(sh.tag))
      throw new VmmError(
        'ESHARETAG',
        `share tag '${sh.tag}' is given twice: give each share a tag of its own`,
      );
    tags.add(sh.tag);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(sh.path);
    } catch (e) {
      throw new VmmError(
        'ESHAREPATH',
        `share '${sh.tag}': ${sh.path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}): give an existing directory`,
      );
    }
    if (!st.isDirectory())
      throw new VmmError(
        'ESHAREPATH',
        `share '${sh.tag}': ${sh.path} is not a directory: give a directory to share`,
      );
    const cache = sh.cache ?? 'auto';
    if (cache !== 'never' && cache !== 'auto' && cache !== 'always')
      throw new VmmError(
        'ESHARECACHE',
        `share '${sh.tag}': cache=${String(cache)} is not never, auto or always`,
      );
  }
}

/** A virtio-fs share, served in its own I/O thread under the VM's seccomp setting. */
function createShareDevice(
  fsShare: typeof FsEntry,
  sh: ShareConfig,
  config: VmConfig,
  log: LogSink | undefined,
): VirtioDevice {
  const model = new fsShare.FsDevice({
    tag: sh.tag,
    root: path.resolve(sh.path),
    readonly: sh.readonly === true,
    cache: sh.cache ?? 'auto',
    startLog: log,
  });
  try {
    // No busy-polling (yet): through /dev/fuse a busy client's next request comes within tens of
    // µs and polling pays (dev-fuse.ts), but a guest's pace between requests on hardware is not
    // something these emulated hosts can measure.
    return new ThreadedDevice(model, {
      name: `share ${sh.tag}`,
      pollUs: 0,
      log,
      seccomp: config.seccomp ?? 'on',
    });
  } catch (e) {
    model.close();
    throw e;
  }
}

/** Start what devices serve before the guest runs (the NAT's host port forwards). */
export async function startVirtioDevices(devices: readonly VirtioDevice[]): Promise<void> {
  for (const d of devices) await d.start?.();
}

/** A virtio-net interface: the userspace NAT by default, or a host tap. */
function createNetDevice(
  net: typeof NetEntry,
  n: NetInterfaceConfig,
  index: number,
  log: LogSink | undefined,
): VirtioDevice {
  const backend = n.tap
    ? net.tapBackend(n.tap)
    : net.natBackend({
        hostForwards: n.hostForwards ?? [],
        hostLoopback: n.hostLoopback ?? false,
        dnsUpstream: n.dns,
        mtu: n.mtu ?? 1500,
        ...(n.deny ? { deny: n.deny } : {}),
        log,
      });
  return new net.NetDevice({ mac: parseMac(n.mac, index), mtu: n.mtu, backend });
}

/** "52:54:00:12:34:56" -> bytes; default 52:54:00:12:34:(0x56 + index). */
export function parseMac(text: string | undefined, index = 0): Uint8Array {
  if (text === undefined) return Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, (0x56 + index) & 0xff);
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new VmmError('EMAC', `MAC address '${text}' is not six hex pairs like 52:54:00:12:34:56`);
  }
  const mac = Uint8Array.from(parts.map((p) => parseInt(p, 16)));
  if ((mac[0]! & 1) !== 0)
    throw new VmmError('EMAC', `MAC address '${text}' is a multicast address: clear bit 0 of the first byte`);
  return mac;
}

/** A device's kind by its device ID (virtio 1.2 §5). */
export function deviceKind(device: VirtioDevice): string {
  const kind = {
    1: 'virtio-net',
    2: 'virtio-blk',
    3: 'virtio-console',
    4: 'virtio-rng',
    19: 'virtio-vsock',
    26: 'virtio-fs',
  }[device.deviceId];
  return kind ?? `virtio device ${device.deviceId}`;
}

/** A device's name in log lines: its kind and the slot it sits in. */
function deviceName(device: VirtioDevice, slot: number): string {
  return `${deviceKind(device)} (slot ${slot})`;
}

/** One device's counters for the library (VmmCounters). */
export interface DeviceCounters {
  slot: number;
  kind: string;
  /** The device model's own counters (requests, bytes, drops...), as it keeps them. */
  stats: Record<string, number>;
  /** The NAT behind a virtio-net, when it has one: flows, refusals, drops. */
  nat?: Record<string, number>;
  /** Times the device was parked in DEVICE_NEEDS_RESET in the current boot. */
  needsReset: number;
}

/** Counters of each device, in slot order; `bus` gives the current boot's transport facts. */
export function deviceCounters(
  devices: readonly VirtioDevice[],
  bus: VirtioMmioBus | undefined,
): DeviceCounters[] {
  return devices.map((d, slot) => {
    const out: DeviceCounters = {
      slot,
      kind: deviceKind(d),
      stats: { ...d.stats },
      needsReset: bus?.needsResetCount(slot) ?? 0,
    };
    const nat = hasBackendStats(d) ? d.backendStats() : undefined;
    if (nat) out.nat = { ...nat };
    return out;
  });
}

/** A NIC (its module is loaded only for a VM with one, so it is known by its method, not its class). */
function hasBackendStats(
  d: VirtioDevice,
): d is VirtioDevice & { backendStats(): Readonly<Record<string, number>> | undefined } {
  return typeof (d as { backendStats?: unknown }).backendStats === 'function';
}

/** Where device i lives: its window and its interrupt, for the DSDT and the command line. */
export function virtioPlacement(count: number): VirtioMmioAcpiDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    base: virtioMmioSlotAddress(i),
    gsi: VIRTIO_FIRST_GSI + i,
  }));
}

/** `virtio_mmio.device=` arguments, for kernels built with VIRTIO_MMIO_CMDLINE_DEVICES. */
export function virtioCmdline(placement: readonly VirtioMmioAcpiDevice[]): string[] {
  return placement.map((p) => `virtio_mmio.device=${MMIO_SLOT_SIZE}@0x${p.base.toString(16)}:${p.gsi}`);
}

/** One boot's transports: the main thread's MMIO handler for the window. */
export class VirtioMmioBus implements MmioHandler {
  private readonly transports: MmioTransport[] = [];
  private readonly notifiers: EventNotifier[] = [];
  private readonly served: ThreadedDevice[] = [];
  /** Each slot's interrupt (an irqfd). */
  private readonly irqs: EventNotifier[] = [];
  /** Each transport's InterruptStatus, shared with the vCPU threads (they answer it and its ACK). */
  readonly isr: VirtioIsrSpec;

  constructor(vm: VirtualMachine, devices: readonly VirtioDevice[], poller: EventfdPoller, log?: LogSink) {
    this.isr = {
      cells: new SharedArrayBuffer(4 * devices.length),
      base: VIRTIO_MMIO_BASE,
      slots: devices.length,
    };
    virtioPlacement(devices.length).forEach((p, i) => {
      const device = devices[i]!;
      device.reset();
      const irq = vm.createEventNotifier();
      vm.registerIrqFd(irq, p.gsi);
      const t = new MmioTransport({
        device,
        memory: vm.memory,
        // An irqfd is an edge: nothing to lower on ACK, so the vCPU threads may take the ACK.
        interrupt: { raise: () => irq.signal() },
        interruptStatus: new Int32Array(this.isr.cells, 4 * i, 1),
        log,
        name: deviceName(device, i),
      });
      // A device with its own I/O thread polls its kicks there; the others' kicks come to this thread.
      const lease = device instanceof ThreadedDevice ? vm.memory.lend?.() : undefined;
      const threaded = lease !== undefined;
      const kicks = t.queues.map((_, q) => {
        const kick = vm.createEventNotifier();
        vm.registerIoEvent(kick, p.base + mmioRegisters.MMIO_QUEUE_NOTIFY, 'mmio', 4, q);
        if (!threaded) poller.watch(kick, () => t.notify(q));
        this.notifiers.push(kick);
        return kick.fd;
      });
      if (lease && device instanceof ThreadedDevice) {
        device.attach({ lease, isr: this.isr.cells, isrIndex: i, kickFds: kicks, irqFd: irq.fd });
        this.served.push(device);
      }
      this.notifiers.push(irq);
      this.irqs.push(irq);
      this.transports.push(t);
    });
  }

  /** Each transport's state, in slot order (the VM and its devices paused). */
  saveStates(): MmioTransportState[] {
    return this.transports.map((t) => t.saveState());
  }

  /**
   * Give each transport its saved state (slot order; the devices must be the same kinds). Throws,
   * naming the slot, when a state does not fit.
   */
  restoreStates(states: DevicesState['virtio']): void {
    if (states.length !== this.transports.length) {
      throw new RangeError(
        `the snapshot has ${states.length} virtio devices, the VM ${this.transports.length}`,
      );
    }
    // What the guest learned of the host (a disk's size) first: nothing is restored on a change.
    this.transports.forEach((t, i) => {
      const s = states[i]!;
      const fault = s.facts && t.device.hostFactsFault?.(s.facts);
      if (fault) throw new RangeError(fault);
      if (s.state === undefined) return;
      const why = t.device.restoreState ? t.device.stateFault?.(s.state) : 'it keeps no state of its own';
      if (why) throw new RangeError(`the saved state of virtio device ${i} (${t.name}) is unusable: ${why}`);
    });
    this.transports.forEach((t, i) => {
      const s = states[i]!;
      if (s.deviceId !== t.device.deviceId || !t.restoreState(s.transport, s.state)) {
        throw new RangeError(`the saved state of virtio device ${i} (${t.name}) does not fit it`);
      }
    });
    // An interrupt a device raised as the VM paused can still have been on its way into KVM (an
    // irqfd injects from a kernel work item) when the LAPIC was saved: seen on AMD's KVM, the
    // restored guest then waited for it forever. A set InterruptStatus is one the guest has not
    // acknowledged: raise it again (at worst the guest finds nothing new behind it).
    const isr = new Int32Array(this.isr.cells);
    this.irqs.forEach((irq, i) => {
      if (Atomics.load(isr, i) !== 0) irq.signal();
    });
  }

  /** How often slot `slot`'s device was parked in DEVICE_NEEDS_RESET this boot. */
  needsResetCount(slot: number): number {
    return this.transports[slot]?.needsResetCount ?? 0;
  }

  mmioRead(address: number, data: Uint8Array): void {
    const t = this.transportAt(address);
    if (t) t.mmioRead(address % MMIO_SLOT_SIZE, data);
    else data.fill(0xff);
  }

  mmioWrite(address: number, data: Uint8Array): void {
    this.transportAt(address)?.mmioWrite(address % MMIO_SLOT_SIZE, data);
  }

  /**
   * The boot is over: every device lets go of this boot's RAM (I/O threads detach and give their
   * lease back, the others are reset), then the boot's eventfds close.
   */
  close(): void {
    for (const d of this.served.splice(0)) d.detach();
    for (const t of this.transports.splice(0)) t.shutdown();
    for (const n of this.notifiers.splice(0)) n.close();
  }

  private transportAt(address: number): MmioTransport | undefined {
    const i = Math.floor((address - VIRTIO_MMIO_BASE) / MMIO_SLOT_SIZE);
    return i >= 0 ? this.transports[i] : undefined;
  }
}
