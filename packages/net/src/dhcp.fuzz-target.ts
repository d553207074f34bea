// Fuzz target: the DHCP message parser (RFC 2131 §2, options RFC 2132) on any bytes at any offset and
// length, laid out as test-support/fuzz-input.ts says. Contract: that file's, and what it accepts is
// an Ethernet BOOTREQUEST with a message type.
import { DhcpMessage } from './dhcp';
import { fuzzParser, hex, parserSeed } from './test-support/fuzz-input';

const dhcp = new DhcpMessage();

export function fuzz(data: Uint8Array): void {
  fuzzParser(data, {
    parse: (buf, off, len) => dhcp.parse(buf, off, len),
    fields: () =>
      `${dhcp.op} ${dhcp.xid} ${dhcp.flags} ${dhcp.ciaddr} ${hex(dhcp.chaddr)} ${dhcp.messageType} ${dhcp.requestedIp} ${dhcp.serverId}`,
    check: () =>
      dhcp.op !== 1 || dhcp.messageType === 0 ? `accepted op ${dhcp.op} type ${dhcp.messageType}` : undefined,
  });
}

/** A BOOTREQUEST (RFC 2131 §2) with the given options after the magic cookie. */
function request(options: number[]): Uint8Array {
  const m = new Uint8Array(240 + options.length);
  m.set([1, 1, 6], 0); // BOOTREQUEST, Ethernet, 6-byte address
  m.set([0xde, 0xad, 0xbe, 0xef], 4); // xid
  m.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 28); // chaddr
  m.set([99, 130, 83, 99], 236);
  m.set(options, 240);
  return m;
}

export function seeds(): Uint8Array[] {
  return [
    parserSeed(request([53, 1, 1, 255])), // DISCOVER
    // REQUEST with a requested address (50) and a server identifier (54), padded (0)
    parserSeed(request([53, 1, 3, 50, 4, 10, 0, 2, 15, 0, 54, 4, 10, 0, 2, 2, 255])),
  ];
}
