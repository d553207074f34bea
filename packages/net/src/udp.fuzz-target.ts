// Fuzz target: the UDP header parser (RFC 768) on any bytes at any offset and length, laid out as
// test-support/fuzz-input.ts says (FLAG_FIX_CHECKSUM: the checksum over the datagram's own length is
// made right first; FLAG_NO_VERIFY: parsed as with a checksum the transport vouched for).
// Contract: that file's, and the payload it reports lies inside the window.
import { UdpHeader } from './udp';
import {
  FLAG_FIX_CHECKSUM,
  FLAG_NO_VERIFY,
  fixChecksumAt,
  fuzzParser,
  parserSeed,
  pseudoSum,
} from './test-support/fuzz-input';
import { DNS, GUEST, udp as udpFrame } from './test-support/guest-frames';

const udp = new UdpHeader();

export function fuzz(data: Uint8Array): void {
  fuzzParser(data, {
    parse: (buf, off, len, flags) => udp.parse(buf, off, len, GUEST, DNS, !(flags & FLAG_NO_VERIFY)),
    fields: () => `${udp.srcPort} ${udp.dstPort} ${udp.dataOff} ${udp.dataLen}`,
    check: (off, len) =>
      udp.dataOff !== off + 8 || udp.dataLen < 0 || udp.dataOff + udp.dataLen > off + len
        ? `payload [${udp.dataOff}, +${udp.dataLen}) outside the window`
        : undefined,
    fixChecksum: (p, len) => {
      const ulen = p.length >= 6 ? (p[4]! << 8) | p[5]! : 0;
      if (ulen >= 8 && ulen <= len) fixChecksumAt(p, 6, 0, ulen, pseudoSum(GUEST, DNS, 17, ulen));
    },
  });
}

export function seeds(): Uint8Array[] {
  const query = new Uint8Array([1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 102, 111, 111, 0, 0, 1, 0, 1]);
  const datagram = udpFrame(GUEST, DNS, 5353, 53, query).subarray(34);
  const noChecksum = datagram.slice();
  noChecksum[6] = noChecksum[7] = 0; // RFC 768: 0 means none
  return [
    parserSeed(datagram),
    parserSeed(noChecksum),
    parserSeed(datagram, FLAG_NO_VERIFY),
    parserSeed(datagram, FLAG_FIX_CHECKSUM),
  ];
}
