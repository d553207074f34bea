// The devices in a snapshot (devices.json): COM1's shared register state, the GED's pending
// events, and each virtio-mmio transport with its queues (the device kind, to check it against the
// restored VM's), and a device's own state where it keeps one (a share's FUSE session: the files
// the guest holds, by path). What a device keeps on the host is not copied: the restored VM opens the same
// disk images, starts a fresh NAT (the guest's TCP connections through it are reset when they
// next send; its address, routes and DNS go on working) and resets the guest's vsock connections
// with VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (its listeners stay: the agent answers again).
import type { MmioTransportState } from '@vmm/virtio';
import { SnapshotError } from './errors';

export interface DevicesState {
  /** COM1's shared state (devices/uart/uart16550.ts createUartState), base64. */
  uart: string;
  /** The GED's events raised and not yet read by the guest. */
  gedEvents: number;
  /** The virtio-mmio transports in slot order (the restored VM's transport checks each state). */
  virtio: {
    deviceId: number;
    transport: MmioTransportState;
    facts?: Readonly<Record<string, number>>;
    /** The device's own state (VirtioDevice.saveState: virtio-fs's FUSE session), checked by it. */
    state?: unknown;
  }[];
}

export function encodeDevicesState(s: DevicesState): Buffer {
  return Buffer.from(JSON.stringify(s));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The most facts a device keeps of the host (VirtioDevice.hostFacts): a disk keeps one. */
const MAX_FACTS = 16;

/**
 * A 32-bit device id (virtio 1.2 §4.2.2 DeviceID), a transport state for restoreState to check,
 * and the device's host facts, when kept: a few names, each to a number. A device's own `state`
 * is any JSON here: the device checks it (VirtioDevice.stateFault) before it takes it.
 */
function isVirtioEntry(v: unknown): boolean {
  if (!isObject(v)) return false;
  const id = v.deviceId;
  if (!(Number.isInteger(id) && (id as number) >= 0 && (id as number) <= 0xffffffff && isObject(v.transport)))
    return false;
  if (v.facts === undefined) return true;
  if (!isObject(v.facts)) return false;
  const facts = Object.entries(v.facts);
  return facts.length <= MAX_FACTS && facts.every(([k, n]) => k.length <= 64 && Number.isFinite(n));
}

/**
 * Check what the file holds against the state it must restore into: `uartFault` says why a COM1
 * state cannot be restored (devices/uart/uart16550.ts uartStateFault), or undefined.
 */
export function decodeDevicesState(
  bytes: Buffer,
  uartFault: (state: Uint8Array) => string | undefined,
): DevicesState {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SnapshotError('ESNAPSHOTCORRUPT', 'the devices state of the snapshot is not JSON');
  }
  const o = v as Partial<DevicesState> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.uart !== 'string' ||
    !Number.isInteger(o.gedEvents) ||
    (o.gedEvents as number) < 0 ||
    (o.gedEvents as number) > 0xff ||
    !Array.isArray(o.virtio) ||
    !o.virtio.every(isVirtioEntry)
  ) {
    throw new SnapshotError('ESNAPSHOTCORRUPT', 'the devices state of the snapshot is malformed');
  }
  const fault = uartFault(Buffer.from(o.uart, 'base64'));
  if (fault !== undefined)
    throw new SnapshotError('ESNAPSHOTCORRUPT', `the snapshot's COM1 ${fault}: it was changed or damaged`);
  return { uart: o.uart, gedEvents: o.gedEvents as number, virtio: o.virtio as DevicesState['virtio'] };
}
