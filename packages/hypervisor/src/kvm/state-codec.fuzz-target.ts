// Fuzz target: decodeHypervisorState, which reads a snapshot file anyone could have edited.
// Contract: it returns a state or throws StateDecodeError, nothing else; a state it returns encodes
// back to exactly the bytes it came from (one encoding per state, nothing read that is not kept).
// Input byte 0, bit 0: decode the rest as it is; else first make the header's payload length and
// CRC-32 fit the rest, so mutations reach the payload's own checks instead of the checksum.
import { sampleMachine, sampleState, sampleVcpu } from '../test-support/sample-state';
import {
  crc32,
  decodeHypervisorState,
  encodeHypervisorState,
  STATE_HEADER_SIZE,
  StateDecodeError,
} from './state-codec';

export function fuzz(data: Uint8Array): void {
  if (data.length < 1) return;
  const input = data.slice(1);
  if ((data[0]! & 1) === 0 && input.length >= STATE_HEADER_SIZE) {
    const v = new DataView(input.buffer);
    v.setUint32(12, input.length - STATE_HEADER_SIZE, true);
    v.setUint32(16, crc32(input.subarray(STATE_HEADER_SIZE)), true);
  }
  let state;
  try {
    state = decodeHypervisorState(input);
  } catch (e) {
    if (e instanceof StateDecodeError) return;
    throw e;
  }
  const again = encodeHypervisorState(state);
  if (again.length !== input.length || again.some((b, i) => b !== input[i])) {
    throw new Error(
      `contract: a ${input.length}-byte state decoded and encoded back as ${again.length} other bytes`,
    );
  }
}

/** A state with one vCPU with everything is ~7 KiB. */
export const maxLength = 16384;

export function seeds(): Uint8Array[] {
  const withMode = (b: Uint8Array) => {
    const out = new Uint8Array(b.length + 1);
    out.set(b, 1);
    return out;
  };
  return [
    sampleState(),
    { machine: sampleMachine(), vcpus: [] },
    { machine: sampleMachine(false), vcpus: [sampleVcpu(2, false)] },
    { machine: sampleMachine(), vcpus: [sampleVcpu(0)] },
  ].map((s) => withMode(encodeHypervisorState(s)));
}
