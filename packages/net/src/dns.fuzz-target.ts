// Fuzz target: the DNS header parser (RFC 1035 §4.1.1) on any bytes at any offset and length, laid
// out as test-support/fuzz-input.ts says. Contract: that file's, and nothing shorter than
// the 12-byte header is accepted.
import { DnsHeader } from './dns';
import { fuzzParser, parserSeed } from './test-support/fuzz-input';

const dns = new DnsHeader();

export function fuzz(data: Uint8Array): void {
  fuzzParser(data, {
    parse: (buf, off, len) => dns.parse(buf, off, len),
    fields: () => `${dns.id} ${dns.qr} ${dns.opcode} ${dns.qdcount} ${dns.isQuery()}`,
    check: (_off, len) => (len < 12 ? `accepted a ${len}-byte header` : undefined),
  });
}

export function seeds(): Uint8Array[] {
  // A query for foo. IN A, as a resolver sends it.
  const query = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 102, 111, 111, 0, 0, 1, 0, 1];
  return [parserSeed(new Uint8Array(query))];
}
