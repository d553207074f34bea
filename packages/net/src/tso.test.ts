// TCP segmentation offload between NatStack and a port that takes super-segments (FramePort.tso):
// host data goes out in frames of many MSS with gsoSize = the guest's MSS, and a guest's
// super-segment (larger than the MTU) is taken whole. The kernel side is proven by test/netns
// (a real tap at MTU 1500).
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NatStack } from './stack';
import { Ipv4Header, PROTO_TCP } from './ipv4';
import { TcpHeader, ACK, PSH, SYN } from './tcp/header';
import { ETH_HLEN } from './ethernet';
import { checksum, pseudoHeaderSum } from './checksum';
import { GATEWAY, tcp } from './test-support/guest-frames';
import { until } from './test-support/until';
import { TCP_MAX_DATA } from './frame-out';

/** Keeps each frame with the gsoSize it was sent with. */
class TsoPort {
  readonly offloadsChecksum = true;
  readonly tso = true;
  readonly sent: { frame: Uint8Array; gsoSize: number }[] = [];
  send(frame: Uint8Array, length: number, gsoSize = 0): void {
    this.sent.push({ frame: frame.slice(0, length), gsoSize });
  }
}

/** Parses a frame's TCP segment after completing its partial checksum as the port would. */
function segment(f: Uint8Array): TcpHeader {
  const ip = new Ipv4Header();
  expect(ip.parse(f, ETH_HLEN, f.length - ETH_HLEN)).toBe(true);
  expect(ip.protocol).toBe(PROTO_TCP);
  const off = ETH_HLEN + ip.headerLen;
  const len = ip.totalLen - ip.headerLen;
  // the field holds the pseudo-header sum: the sum from csum_start, complemented, completes it
  const c = checksum(f, off, len, 0);
  f[off + 16] = c >>> 8;
  f[off + 17] = c & 0xff;
  const t = new TcpHeader();
  expect(t.parse(f, off, len, ip.src, ip.dst)).toBe(true);
  expect(checksum(f, off, len, pseudoHeaderSum(ip.src, ip.dst, PROTO_TCP, len))).toBe(0);
  return t;
}

let stack: NatStack | undefined;
let server: net.Server | undefined;
afterEach(() => {
  stack?.close();
  server?.close();
});

describe('TCP segmentation offload (FramePort.tso)', () => {
  it('sends host data in super-segments of whole MSS with gsoSize = MSS, and takes a guest super-segment whole', async () => {
    const MSS = 1000;
    const down = randomBytes(300_000);
    let up = Buffer.alloc(0);
    let hostSide: net.Socket | undefined;
    server = net.createServer((s) => {
      hostSide = s;
      s.on('data', (d) => (up = Buffer.concat([up, d])));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const sport = (server.address() as net.AddressInfo).port;
    const port = new TsoPort();
    stack = new NatStack(port, { hostLoopback: true, mtu: 1500 });
    // SYN with MSS 1000 and window scale 7: a window of 8 MiB
    stack.input(tcp(GATEWAY, 40000, sport, 5000, 0, SYN, 65535, undefined, MSS, 7), 100);
    const synAck = segment((await until(() => port.sent[0])).frame);
    port.sent.length = 0;
    const iss = synAck.seq;

    // The guest sends 40 000 bytes in one frame (its TSO), far beyond the MTU.
    const bulk = randomBytes(40_000);
    stack.input(tcp(GATEWAY, 40000, sport, 5001, iss + 1, ACK | PSH, 65535, bulk), 1 << 20);
    stack.flush();
    await until(() => (up.length === bulk.length ? true : undefined));
    expect(up.equals(bulk)).toBe(true);
    expect(segment(port.sent.at(-1)!.frame).ack).toBe(5001 + bulk.length);
    port.sent.length = 0;

    hostSide!.write(down);
    const got = await until(() => {
      const total = port.sent.reduce((n, s) => n + segment(s.frame.slice()).dataLen, 0);
      return total >= down.length ? port.sent.splice(0) : undefined;
    });
    let seq = iss + 1;
    const data: Buffer[] = [];
    for (const { frame, gsoSize } of got) {
      const t = segment(frame);
      if (t.dataLen === 0) continue;
      expect(t.seq).toBe(seq >>> 0);
      expect(t.dataLen).toBeLessThanOrEqual(Math.floor(TCP_MAX_DATA / MSS) * MSS);
      expect(gsoSize).toBe(t.dataLen > MSS ? MSS : 0);
      data.push(Buffer.from(frame.subarray(t.dataOff, t.dataOff + t.dataLen)));
      seq += t.dataLen;
    }
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(Buffer.concat(data))).toBe(sha(down));
    // 300 000 bytes in 1000-byte segments would be 300 frames
    expect(got.length).toBeLessThan(20);
  });
});
