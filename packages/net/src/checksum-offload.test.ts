// The checksum-offload contract between NatStack and a port (FramePort.offloadsChecksum,
// FrameSink.input's checksumValid): partial checksums out, unverified checksums in, and the
// tap's struct virtio_net_hdr layout. The kernel side is proven by test/netns (a real tap).
import { afterEach, describe, expect, it } from 'vitest';
import { NatStack } from './stack';
import { Ipv4Header, PROTO_TCP } from './ipv4';
import { TcpHeader, RST, SYN } from './tcp/header';
import { ETH_HLEN } from './ethernet';
import { checksum, pseudoHeaderSum } from './checksum';
import { CapturePort } from './test-support/capture-port';
import { GATEWAY, tcp } from './test-support/guest-frames';
import { readVnetHdr, writeVnetHdr, VIRTIO_NET_HDR_F_NEEDS_CSUM } from './vnet-hdr';

class OffloadPort extends CapturePort {
  readonly offloadsChecksum = true;
}

let stack: NatStack | undefined;
afterEach(() => stack?.close());

/** A SYN to the gateway port 80 with host loopback off: the NAT answers with a RST at once. */
function syn(): Uint8Array {
  return tcp(GATEWAY, 40000, 80, 1000, 0, SYN, 65535, undefined, 1460, 7);
}

function tcpOf(f: Uint8Array): { ip: Ipv4Header; off: number; len: number } {
  const ip = new Ipv4Header();
  expect(ip.parse(f, ETH_HLEN, f.length - ETH_HLEN)).toBe(true);
  expect(ip.protocol).toBe(PROTO_TCP);
  return { ip, off: ETH_HLEN + ip.headerLen, len: ip.totalLen - ip.headerLen };
}

describe('checksum offload', () => {
  it('sends TCP with only the pseudo-header sum when the port offloads checksums', () => {
    const port = new OffloadPort();
    stack = new NatStack(port);
    stack.input(syn(), 100);
    const f = port.take()[0]!;
    const { ip, off, len } = tcpOf(f);
    const partial = (f[off + 16]! << 8) | f[off + 17]!;
    let pseudo = pseudoHeaderSum(ip.src, ip.dst, PROTO_TCP, len);
    while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
    expect(partial).toBe(pseudo);
    // completing it as the kernel does (sum from csum_start, store the complement) gives a valid segment
    f[off + 16] = 0;
    f[off + 17] = 0;
    const c = checksum(f, off, len, pseudoHeaderSum(ip.src, ip.dst, PROTO_TCP, len));
    f[off + 16] = c >>> 8;
    f[off + 17] = c & 0xff;
    const t = new TcpHeader();
    expect(t.parse(f, off, len, ip.src, ip.dst)).toBe(true);
    expect(t.flags & RST).toBeTruthy();
  });

  it('skips verification only for frames whose checksum the transport vouches for', () => {
    const port = new CapturePort();
    stack = new NatStack(port);
    const bad = syn();
    const { off } = tcpOf(bad);
    bad[off + 16]! ^= 0x5a; // a partial checksum, as a tap with TUN_F_CSUM hands it over
    stack.input(bad, bad.length);
    expect(port.take()).toHaveLength(0);
    expect(stack.dropped).toBe(1);
    stack.input(bad, bad.length, true);
    expect(port.take()).toHaveLength(1);
  });

  it('lays out struct virtio_net_hdr little-endian', () => {
    const b = new Uint8Array(64);
    writeVnetHdr(b, VIRTIO_NET_HDR_F_NEEDS_CSUM, 34, 16);
    expect([...b.subarray(0, 10)]).toEqual([1, 0, 0, 0, 0, 0, 34, 0, 16, 0]);
    expect(readVnetHdr(b, 24)).toBe(VIRTIO_NET_HDR_F_NEEDS_CSUM);
    expect(readVnetHdr(b, 23)).toBe(-1);
  });
});
