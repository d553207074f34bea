// Fuzz target: the TCP header and options parser (RFC 9293 §3.1-3.2, RFC 7323 §2) on any bytes at
// any offset and length, laid out as test-support/fuzz-input.ts says (FLAG_FIX_CHECKSUM: the
// segment's checksum is made right first; FLAG_NO_VERIFY: parsed as with a checksum the transport
// vouched for). Contract: that file's; the header lies inside the window, the data is the rest of
// it, MSS is a 16-bit value and the window scale at most 14 (RFC 7323 §2.3).
import { TcpHeader } from './header';
import {
  FLAG_FIX_CHECKSUM,
  FLAG_NO_VERIFY,
  fixChecksumAt,
  fuzzParser,
  parserSeed,
  pseudoSum,
} from '../test-support/fuzz-input';
import { GATEWAY, GUEST, tcp as tcpFrame } from '../test-support/guest-frames';

const tcp = new TcpHeader();

export function fuzz(data: Uint8Array): void {
  fuzzParser(data, {
    parse: (buf, off, len, flags) => tcp.parse(buf, off, len, GUEST, GATEWAY, !(flags & FLAG_NO_VERIFY)),
    fields: () =>
      `${tcp.srcPort} ${tcp.dstPort} ${tcp.seq} ${tcp.ack} ${tcp.flags} ${tcp.window} ${tcp.mss} ${tcp.wscale} ${tcp.dataOff} ${tcp.dataLen}`,
    check: (off, len) => {
      if (tcp.dataOff < off + 20 || tcp.dataOff + tcp.dataLen !== off + len || tcp.dataLen < 0)
        return `data [${tcp.dataOff}, +${tcp.dataLen}) is not the rest of the window`;
      if (tcp.mss < 0 || tcp.mss > 0xffff || tcp.wscale < -1 || tcp.wscale > 14)
        return `MSS ${tcp.mss}, window scale ${tcp.wscale}`;
      return undefined;
    },
    fixChecksum: (p, len) => fixChecksumAt(p, 16, 0, len, pseudoSum(GUEST, GATEWAY, 6, len)),
  });
}

export function seeds(): Uint8Array[] {
  const syn = tcpFrame(GATEWAY, 40000, 80, 1, 0, 0x02, 65535, new Uint8Array(0), 1460, 7).subarray(34);
  const data = tcpFrame(
    GATEWAY,
    40000,
    80,
    2,
    9,
    0x18,
    512,
    new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'),
  );
  // SACK-permitted (4) and a timestamp (8) after the MSS, as Linux sends them: parsed past.
  const options = new Uint8Array(40);
  options.set(syn.subarray(0, 20));
  options[12] = 10 << 4;
  options.set([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7], 20);
  return [
    parserSeed(syn),
    parserSeed(data.subarray(34)),
    parserSeed(options, FLAG_FIX_CHECKSUM),
    parserSeed(syn, FLAG_NO_VERIFY),
  ];
}
