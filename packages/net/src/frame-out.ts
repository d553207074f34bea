// Builds the frames the NAT sends to the guest in one preallocated buffer (no allocation per frame):
// Ethernet (IEEE 802.3) + IPv4 (RFC 791) + TCP/UDP/ICMP, checksums included.
import { ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, BROADCAST_MAC, writeEthernet } from './ethernet';
import { IPV4_HLEN, IPV4_MAX_TOTAL, PROTO_ICMP, PROTO_TCP, PROTO_UDP, writeIpv4Header } from './ipv4';
import { finishTcp, partialTcp, TCP_HLEN, writeTcpHeader } from './tcp/header';
import { UDP_HLEN, writeUdp } from './udp';
import { finishIcmp } from './icmp';
import { ARP_LEN, writeArp } from './arp';
import type { FramePort } from './frame-port';

/** Offset of the IP payload in the buffer. */
export const IP_PAYLOAD = ETH_HLEN + IPV4_HLEN;
/** Offset of TCP data (segments with data carry no options). */
export const TCP_DATA = IP_PAYLOAD + TCP_HLEN;
/** Offset of UDP data. */
export const UDP_DATA = IP_PAYLOAD + UDP_HLEN;
/** Most TCP data one frame can carry (a super-segment, when the port takes them). */
export const TCP_MAX_DATA = IPV4_MAX_TOTAL - IPV4_HLEN - TCP_HLEN;

export class FrameOut {
  readonly buf: Uint8Array;
  /** the guest's MAC, learnt from its frames; broadcast until then */
  readonly guestMac = new Uint8Array(BROADCAST_MAC);
  frames = 0;

  constructor(
    private readonly port: FramePort,
    private readonly gatewayMac: Uint8Array,
  ) {
    const tx = port.txFrame;
    this.buf = tx && tx.length >= ETH_HLEN + IPV4_MAX_TOTAL ? tx : new Uint8Array(ETH_HLEN + IPV4_MAX_TOTAL);
  }

  /** The port takes TCP super-segments now (FramePort.tso). */
  get tso(): boolean {
    return this.port.tso === true;
  }

  /** Sends the IPv4 datagram whose payload (payloadLen bytes) is at IP_PAYLOAD. */
  sendIp(
    protocol: number,
    src: number,
    dst: number,
    payloadLen: number,
    dstMac: Uint8Array = this.guestMac,
    gsoSize = 0,
  ): void {
    writeEthernet(this.buf, dstMac, this.gatewayMac, ETHERTYPE_IPV4);
    writeIpv4Header(this.buf, ETH_HLEN, protocol, src, dst, payloadLen);
    this.frames++;
    this.port.send(this.buf, IP_PAYLOAD + payloadLen, gsoSize);
  }

  /**
   * Sends a TCP segment; its dataLen bytes must already be at TCP_DATA (no options then). With
   * `gsoSize` > 0 (only while `tso`) it is a super-segment the port cuts into gsoSize-byte ones.
   */
  sendTcp(
    src: number,
    dst: number,
    srcPort: number,
    dstPort: number,
    seq: number,
    ack: number,
    flags: number,
    window: number,
    dataLen: number,
    mss = 0,
    wscale = -1,
    gsoSize = 0,
  ): void {
    const hl = writeTcpHeader(this.buf, IP_PAYLOAD, srcPort, dstPort, seq, ack, flags, window, mss, wscale);
    const len = hl + dataLen;
    if (this.port.offloadsChecksum === true) partialTcp(this.buf, IP_PAYLOAD, len, src, dst);
    else finishTcp(this.buf, IP_PAYLOAD, len, src, dst);
    this.sendIp(PROTO_TCP, src, dst, len, this.guestMac, gsoSize);
  }

  /** Sends a UDP datagram whose dataLen bytes are already at UDP_DATA. */
  sendUdp(
    src: number,
    dst: number,
    srcPort: number,
    dstPort: number,
    dataLen: number,
    dstMac?: Uint8Array,
  ): void {
    const len = writeUdp(this.buf, IP_PAYLOAD, src, dst, srcPort, dstPort, dataLen);
    this.sendIp(PROTO_UDP, src, dst, len, dstMac);
  }

  /** Sends an ICMP message laid out at IP_PAYLOAD (len bytes, header included). */
  sendIcmp(src: number, dst: number, type: number, code: number, len: number): void {
    finishIcmp(this.buf, IP_PAYLOAD, len, type, code);
    this.sendIp(PROTO_ICMP, src, dst, len);
  }

  sendArp(op: number, senderIp: number, targetMac: Uint8Array, targetIp: number): void {
    writeEthernet(this.buf, targetMac, this.gatewayMac, ETHERTYPE_ARP);
    writeArp(this.buf, ETH_HLEN, op, this.gatewayMac, senderIp, targetMac, targetIp);
    this.frames++;
    this.port.send(this.buf, ETH_HLEN + ARP_LEN);
  }
}
