// Fuzz target: the ARP parser (RFC 826) on any bytes at any offset and length, laid out as
// test-support/fuzz-input.ts says. Contract: that file's (no throw, nothing read or accepted outside
// the window), and what it accepts is an Ethernet/IPv4 request or reply.
import { ArpPacket, ARP_REPLY, ARP_REQUEST } from './arp';
import { fuzzParser, hex, parserSeed } from './test-support/fuzz-input';
import { arpRequest, DNS, GATEWAY } from './test-support/guest-frames';

const arp = new ArpPacket();

export function fuzz(data: Uint8Array): void {
  fuzzParser(data, {
    parse: (buf, off, len) => arp.parse(buf, off, len),
    fields: () => `${arp.op} ${hex(arp.senderMac)} ${arp.senderIp} ${hex(arp.targetMac)} ${arp.targetIp}`,
    check: () => (arp.op === ARP_REQUEST || arp.op === ARP_REPLY ? undefined : `accepted op ${arp.op}`),
  });
}

export function seeds(): Uint8Array[] {
  const reply = arpRequest(DNS).slice(14);
  reply[7] = ARP_REPLY;
  return [parserSeed(arpRequest(GATEWAY).subarray(14)), parserSeed(reply)];
}
