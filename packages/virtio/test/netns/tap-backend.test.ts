// Tier 3: virtio-net on the tap backend (`--net tap=NAME`), with the Linux kernel at the far end of
// the tap: a network namespace the test creates holds the tap (10.0.2.1/24) and a UDP echo server.
// The model guest (the TypeScript driver) sends a UDP datagram with its checksum left partial
// (NEEDS_CSUM, as Linux's virtio_net does): the kernel only delivers it if the device completed
// the checksum, and its answer must reach the guest with a complete, valid checksum (the tap is
// opened without offloads, so relayed frames never carry partial sums).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns } from '@vmm/net';
import { tapBackend } from '../../src/net/backend';
import { NetDevice } from '../../src/net/device';
import * as L from '../../src/net/layout';
import { GUEST_MAC, PROTO_UDP, get16, parseIp, udpDatagram } from '../../src/net/test-support/frames';
import { netGuest } from '../../src/net/test-support/net-guest';

const why =
  process.platform !== 'linux'
    ? 'not Linux'
    : process.getuid?.() !== 0
      ? 'not root'
      : !fs.existsSync('/dev/net/tun')
        ? 'no /dev/net/tun'
        : !fs.existsSync('/usr/sbin/ip')
          ? 'no /usr/sbin/ip'
          : undefined;
if (why) console.warn(`SKIP (${why}): virtio-net on a tap needs root, /dev/net/tun and iproute2`);

const NS = `vmmtap-${process.pid}`;
const TAP = 'vt0';
const HOST_IP = 0x0a000201; // 10.0.2.1
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

describe.skipIf(why !== undefined)('virtio-net on the tap backend, the kernel at the far end', () => {
  let dev: NetDevice;
  let echo: ReturnType<typeof spawn> | undefined;
  beforeAll(async () => {
    ip('netns', 'add', NS);
    dev = withNetns(`/var/run/netns/${NS}`, () => new NetDevice({ backend: tapBackend(TAP) }));
    ip('-n', NS, 'addr', 'add', '10.0.2.1/24', 'dev', TAP);
    ip('-n', NS, 'link', 'set', TAP, 'up');
    ip('-n', NS, 'neigh', 'add', '10.0.2.15', 'lladdr', '52:54:00:12:34:56', 'dev', TAP);
    const script =
      "const s=require('dgram').createSocket('udp4');" +
      "s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));" +
      "s.bind(7777,'10.0.2.1',()=>console.log('up'))";
    echo = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script]);
    await new Promise<void>((resolve, reject) => {
      echo!.stdout!.once('data', () => resolve());
      echo!.once('exit', (c) => reject(new Error(`echo server exited (${c})`)));
    });
  });
  afterAll(() => {
    echo?.kill();
    dev?.close();
    try {
      ip('netns', 'del', NS);
    } catch {
      // already gone
    }
  });

  it('offers no TSO; a partial UDP checksum is completed for the kernel, and its answer arrives whole', async () => {
    expect(dev.features & (1n << L.VIRTIO_NET_F_HOST_TSO4)).toBe(0n);
    expect(dev.features & (1n << L.VIRTIO_NET_F_GUEST_TSO4)).toBe(0n);
    const g = netGuest(dev, { rxBufSize: 2048 });
    g.postRx(16);
    const tapMac = Uint8Array.from(
      ip('-n', NS, '-br', 'link', 'show', TAP)
        .split(/\s+/)[2]!
        .split(':')
        .map((h) => parseInt(h, 16)),
    );
    const payload = new TextEncoder().encode('hello through the tap');
    await g.send(udpDatagram(tapMac, HOST_IP, 40000, 7777, payload));
    for (;;) {
      const r = await g.recv(5000);
      const p = parseIp(r.frame);
      if (!p || p.proto !== PROTO_UDP) continue; // IPv6 and neighbour chatter from the kernel
      expect(r.flags & L.VIRTIO_NET_HDR_F_NEEDS_CSUM).toBe(0);
      expect(p.checksumsValid).toBe(true);
      expect(p.src).toBe(HOST_IP);
      expect(get16(r.frame, p.l4 + 2)).toBe(40000);
      const text = Buffer.from(r.frame.subarray(p.l4 + 8, p.l4 + p.l4Len)).toString();
      expect(text).toBe('echo:hello through the tap');
      expect([...r.frame.subarray(0, 6)]).toEqual([...GUEST_MAC]);
      break;
    }
  });
});
