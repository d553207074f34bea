// The saved-state encoding (state-codec.ts), on any host: a state comes back exactly as it went in
// (and goes through structuredClone, as it does through postMessage), and every way the bytes can
// be wrong is refused with its own code. A real KVM state: test/kvm/state.test.ts.
import { describe, expect, it } from 'vitest';
import { sampleMachine, sampleState, sampleVcpu } from '../test-support/sample-state';
import {
  crc32,
  decodeHypervisorState,
  encodeHypervisorState,
  STATE_HEADER_SIZE,
  StateDecodeError,
  StateEncodeError,
  type HypervisorState,
} from './state-codec';
import { XSAVE_SIZE } from './structs/xsave';

/** The code decoding `bytes` fails with, or 'accepted'. */
function refusal(bytes: Uint8Array): string {
  try {
    decodeHypervisorState(bytes);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(StateDecodeError);
    expect((e as Error).message.length).toBeGreaterThan(20);
    return (e as StateDecodeError).code;
  }
}

/** The header's length and CRC made right again after an edit of the payload. */
function reseal(bytes: Uint8Array): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint32(12, bytes.length - STATE_HEADER_SIZE, true);
  v.setUint32(16, crc32(bytes.subarray(STATE_HEADER_SIZE)), true);
  return bytes;
}

/** `bytes` with payload byte `at` (0: the first after the header) set by `edit`, resealed. */
function editPayload(bytes: Uint8Array, edit: (v: DataView) => void): Uint8Array {
  const b = bytes.slice();
  edit(new DataView(b.buffer, STATE_HEADER_SIZE));
  return reseal(b);
}

describe('saved KVM state encoding', () => {
  const state = sampleState();
  const bytes = encodeHypervisorState(state);
  // Where things are in the payload: the machine, the vCPU count, vCPU 0, vCPU 1.
  const machineOnly = encodeHypervisorState({ machine: state.machine, vcpus: [] });
  const vcpuCountAt = machineOnly.length - STATE_HEADER_SIZE - 2;
  const vcpu0At = vcpuCountAt + 2;
  const vcpu1At =
    encodeHypervisorState({ machine: state.machine, vcpus: [state.vcpus[0]!] }).length - STATE_HEADER_SIZE;

  it('decodes to exactly what was encoded, each byte array in a buffer of its own', () => {
    const back = decodeHypervisorState(bytes);
    expect(back).toStrictEqual(state);
    expect(encodeHypervisorState(back)).toEqual(bytes);
    const arrays = [back.machine.clock, back.vcpus[0]!.regs, back.vcpus[0]!.fpu.bytes, back.vcpus[1]!.events];
    for (const a of arrays) expect([a.byteOffset, a.buffer.byteLength]).toEqual([0, a.length]);
  });

  it('a state survives structuredClone (postMessage) and encodes the same after', () => {
    const cloned = structuredClone(state);
    expect(cloned).toStrictEqual(state);
    expect(encodeHypervisorState(cloned)).toEqual(bytes);
  });

  it('without the irqchip, with no vCPUs, with a larger XSAVE area (KVM_CAP_XSAVE2)', () => {
    const states: HypervisorState[] = [
      { machine: sampleMachine(false), vcpus: [sampleVcpu(3, false)] },
      { machine: sampleMachine(), vcpus: [] },
      { machine: sampleMachine(), vcpus: [sampleVcpu(0, true, XSAVE_SIZE + 8192)] },
    ];
    for (const s of states) expect(decodeHypervisorState(encodeHypervisorState(s))).toStrictEqual(s);
  });

  it('refuses a state cut short anywhere', () => {
    for (const n of [0, 8, STATE_HEADER_SIZE - 1, STATE_HEADER_SIZE, 100, bytes.length - 1]) {
      expect(refusal(bytes.subarray(0, n)), `${n} bytes`).toBe('ESTATETRUNCATED');
    }
  });

  it('refuses another file, format version, backend or architecture', () => {
    const at = (i: number, value: number) => {
      const b = bytes.slice();
      b[i] = value;
      return b;
    };
    expect(refusal(at(0, 0x7f))).toBe('ESTATEMAGIC');
    expect(refusal(new TextEncoder().encode('{"machine": {}, "vcpus": []} and more text'))).toBe(
      'ESTATEMAGIC',
    );
    expect(refusal(at(8, 2))).toBe('ESTATEVERSION');
    expect(refusal(at(8, 0))).toBe('ESTATEVERSION');
    expect(refusal(at(10, 2))).toBe('ESTATEARCH');
    expect(refusal(at(11, 2))).toBe('ESTATEARCH');
  });

  it('refuses a flipped bit anywhere in the payload (CRC-32), and bytes after it', () => {
    for (const i of [STATE_HEADER_SIZE, STATE_HEADER_SIZE + 777, bytes.length - 1]) {
      const b = bytes.slice();
      b[i]! ^= 0x04;
      expect(refusal(b), `byte ${i}`).toBe('ESTATECORRUPT');
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(refusal(longer)).toBe('ESTATECORRUPT');
    expect(refusal(reseal(longer))).toBe('ESTATECORRUPT'); // even with the length and CRC made to fit
  });

  it('refuses, with a CRC that fits, each thing a well-formed state cannot hold', () => {
    const cases: [string, (v: DataView) => void][] = [
      ['unknown machine parts', (v) => v.setUint8(0, v.getUint8(0) | 0x80)],
      ['a 519-byte PIC state', (v) => v.setUint32(1, 519, true)],
      ['the PIC master naming chip 2', (v) => v.setUint32(5, 2, true)],
      ['more vCPUs than follow', (v) => v.setUint16(vcpuCountAt, 3, true)],
      ['vCPU 1 with vCPU 0 id', (v) => v.setUint32(vcpu1At, 0, true)],
      ['unknown vCPU parts', (v) => v.setUint8(vcpu0At + 8, v.getUint8(vcpu0At + 8) | 0x40)],
      ['a TSC frequency without its flag', (v) => v.setUint8(vcpu0At + 8, v.getUint8(vcpu0At + 8) & ~4)],
      ['257 CPUID entries', (v) => v.setUint16(vcpu0At + 13, 257, true)],
      ['a 144-byte kvm_regs that says 145', (v) => v.setUint32(vcpu0At + 15 + 2 * 28, 145, true)],
      [
        'an XSAVE area of 4097 bytes',
        (v) => v.setUint32(vcpu0At + 15 + 2 * 28 + 148 + 316, XSAVE_SIZE + 1, true),
      ],
      ['an XSAVE area of 2 GiB', (v) => v.setUint32(vcpu0At + 15 + 2 * 28 + 148 + 316, 0x8000_0000, true)],
    ];
    for (const [what, edit] of cases) expect(refusal(editPayload(bytes, edit)), what).toBe('ESTATECORRUPT');
    const twice = sampleVcpu(0);
    twice.msrs.push({ ...twice.msrs[0]! });
    const good = encodeHypervisorState({ machine: state.machine, vcpus: [sampleVcpu(0)] });
    // The duplicate written by hand: the encoder refuses to (below). MSR 0x277's index -> 0x10.
    const msrAt = good.length - STATE_HEADER_SIZE - (4 + 64) - 4 * 12;
    const dup = editPayload(good, (v) => v.setUint32(msrAt + 12, 0x10, true));
    expect(refusal(dup), 'an MSR twice').toBe('ESTATECORRUPT');
  });

  it('will not encode what it could not decode', () => {
    const bad: [string, HypervisorState][] = [
      ['a short kvm_regs', { ...state, vcpus: [{ ...sampleVcpu(0), regs: new Uint8Array(10) }] }],
      ['an odd XSAVE area', { ...state, vcpus: [sampleVcpu(0, true, XSAVE_SIZE + 2)] }],
      ['a vCPU twice', { ...state, vcpus: [sampleVcpu(0), sampleVcpu(0)] }],
      [
        'an MSR twice',
        {
          ...state,
          vcpus: [
            {
              ...sampleVcpu(0),
              msrs: [
                { index: 1, data: 0n },
                { index: 1, data: 1n },
              ],
            },
          ],
        },
      ],
      [
        '300 CPUID entries',
        { ...state, vcpus: [{ ...sampleVcpu(0), cpuid: Array(300).fill(sampleVcpu(0).cpuid[0]) }] },
      ],
    ];
    for (const [what, s] of bad) expect(() => encodeHypervisorState(s), what).toThrow(StateEncodeError);
  });

  it('CRC-32 is the ISO-HDLC one (zlib, PNG): "123456789" -> 0xcbf43926', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});
