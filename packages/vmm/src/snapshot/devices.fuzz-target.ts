// Fuzz target: decodeDevicesState, which reads a snapshot's devices.json (COM1's registers, the
// GED's pending events, each virtio transport's saved state) for a restore. Input byte 0, bit 0:
// set, the rest is the file as it is; clear, the rest is JSON whose `uart` (when it is an object)
// is first replaced by a COM1 state of the right size, so mutations reach the other checks (the
// UART's state alone is ~4 KiB of base64, past what the fuzzer mutates well).
// Contract: it returns the devices' state or throws SnapshotError ESNAPSHOTCORRUPT, nothing else; a
// state it returns holds a COM1 state the UART can run (uartStateFault: its size, locks free,
// registers, ring indices and counters in range), GED events in one byte, and a
// list of virtio entries each with a 32-bit device id, a transport state object (whose fields
// MmioTransport.restoreState checks: the virtio/mmio/restore-state target) and, when kept, the
// device's host facts (at most 16 names to finite numbers) and its own state (any JSON: the
// device checks it, as the virtio/fs/session target does a share's); encoded again, it decodes to
// the same state.
import { isDeepStrictEqual } from 'node:util';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { MmioTransport, RngDevice } from '@vmm/virtio';
import { createUartState, uartStateFault } from '../devices/uart/uart16550';
import { decodeDevicesState, encodeDevicesState, type DevicesState } from './devices';
import { SnapshotError } from './errors';

const UART_BASE64 = Buffer.from(createUartState()).toString('base64');

function fail(why: string): never {
  throw new Error(`contract: ${why}`);
}

export function fuzz(data: Uint8Array): void {
  if (data.length < 1) return;
  let file = Buffer.from(data.buffer, data.byteOffset + 1, data.length - 1);
  if ((data[0]! & 1) === 0) file = withUart(file);
  let s: DevicesState;
  try {
    s = decodeDevicesState(file, uartStateFault);
  } catch (e) {
    if (e instanceof SnapshotError && e.code === 'ESNAPSHOTCORRUPT' && e.message.length > 0) return;
    throw e;
  }
  const fault = uartStateFault(Buffer.from(s.uart, 'base64'));
  if (fault !== undefined) fail(`a COM1 state that cannot be restored taken (${fault})`);
  if (!(Number.isInteger(s.gedEvents) && s.gedEvents >= 0 && s.gedEvents <= 0xff))
    fail(`GED events ${s.gedEvents} taken`);
  if (!Array.isArray(s.virtio)) fail('virtio is not a list');
  for (const v of s.virtio) {
    if (!(Number.isInteger(v.deviceId) && v.deviceId >= 0 && v.deviceId <= 0xffffffff))
      fail(`device id ${String(v.deviceId)} taken`);
    if (typeof v.transport !== 'object' || v.transport === null || Array.isArray(v.transport))
      fail('a virtio entry without a transport state taken');
    if (v.facts !== undefined) {
      const facts = typeof v.facts === 'object' && v.facts !== null ? Object.values(v.facts) : undefined;
      if (!facts || Array.isArray(v.facts) || facts.length > 16 || !facts.every(Number.isFinite))
        fail('host facts that are not a few names to numbers taken');
    }
  }
  const again = decodeDevicesState(encodeDevicesState(s), uartStateFault);
  if (!isDeepStrictEqual(again, s)) fail('a taken state, encoded again, decodes to another');
}

/** `file` with COM1's state (of the right size) put in, when it is a JSON object; else as it is. */
function withUart(file: Buffer): Buffer {
  let v: unknown;
  try {
    v = JSON.parse(file.toString('utf8'));
  } catch {
    return file;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return file;
  return Buffer.from(JSON.stringify({ ...v, uart: UART_BASE64 }));
}

export const maxLength = 4096;

/** devices.json as saveSnapshot writes it (encodeDevicesState) for a VM with no virtio device, and one with two. */
export function seeds(): Uint8Array[] {
  const uart = new Uint8Array(createUartState());
  uart[0] = 0x41;
  const memory = new ArrayGuestMemory([{ gpa: 0, size: 64 * 1024 }]);
  const rng = new MmioTransport({ device: new RngDevice(), memory, interrupt: { raise() {} } });
  const saved = rng.saveState();
  const files = [
    { uart: UART_BASE64, gedEvents: 0, virtio: [] },
    {
      uart: Buffer.from(uart).toString('base64'),
      gedEvents: 1,
      virtio: [
        { deviceId: 4, transport: saved },
        { deviceId: 2, transport: { ...saved, queues: [], addressRegs: [] }, facts: { sectors: 2048 } },
      ],
    },
  ].map((s) => encodeDevicesState(s));
  // As written (mode 1), and with the UART's state left to the target (mode 0).
  const mode = (m: number, b: Uint8Array) => Buffer.concat([Buffer.from([m]), b]);
  const short = (b: Buffer) => Buffer.from(JSON.stringify({ ...JSON.parse(b.toString()), uart: '' }));
  return [mode(1, files[0]!), ...files.map((f) => mode(0, short(f)))];
}
