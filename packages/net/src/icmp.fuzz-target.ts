// Fuzz target: the ICMP header parser (RFC 792) on any bytes at any offset and length, laid out as
// test-support/fuzz-input.ts says (FLAG_FIX_CHECKSUM: the message checksum is made right first).
// Contract: that file's, and nothing shorter than the 8-byte header is accepted.
import { IcmpHeader } from './icmp';
import { FLAG_FIX_CHECKSUM, fixChecksumAt, fuzzParser, parserSeed } from './test-support/fuzz-input';
import { icmpEcho, GATEWAY } from './test-support/guest-frames';

const icmp = new IcmpHeader();

export function fuzz(data: Uint8Array): void {
  fuzzParser(data, {
    parse: (buf, off, len) => icmp.parse(buf, off, len),
    fields: () => `${icmp.type} ${icmp.code}`,
    check: (_off, len) => (len < 8 ? `accepted a ${len}-byte message` : undefined),
    fixChecksum: (p, len) => fixChecksumAt(p, 2, 0, len),
  });
}

export function seeds(): Uint8Array[] {
  const echo = icmpEcho(GATEWAY, 7, 1, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])).subarray(34);
  return [parserSeed(echo), parserSeed(echo.subarray(0, 8), FLAG_FIX_CHECKSUM)];
}
