// Tier 3: `vmm nat` serving network namespaces the test creates, with Linux's own TCP/IP stack,
// busybox (udhcpc, ping, wget, nslookup, nc) and node inside them as the guest, and servers the test
// runs on host 127.0.0.1. All traffic stays on loopback and the test's own namespaces.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRun, createNetns, deleteNetns, inNs, payload, rssKiB, startNat, type Nat } from './harness';
import { startDnsServer } from './dns-server';

const skip = canRun();
if (skip)
  console.warn(
    `SKIP (${skip}): @vmm/net namespace tests need root, /dev/net/tun, iproute2, nsenter and busybox`,
  );

const BIG = 100 << 20;
const SMALL = 64 << 10;
const big = skip ? Buffer.alloc(0) : payload(BIG);
const bigSha = createHash('sha256').update(big).digest('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-net-'));

let httpServer: http.Server;
let httpPort = 0;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  if (skip) return;
  httpServer = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': BIG });
      res.end(big);
    } else if (req.url === '/small') {
      res.writeHead(200, { 'content-length': SMALL });
      res.end(big.subarray(0, SMALL));
    } else if (req.url === '/upload') {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => res.end(`${n} ${h.digest('hex')}\n`));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  httpPort = (httpServer.address() as net.AddressInfo).port;
});

afterAll(async () => {
  httpServer?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skip)('vmm nat: DHCP and ICMP (MTU 1500)', () => {
  let ns = '';
  let nat: Nat;
  beforeAll(async () => {
    ns = await createNetns();
    nat = await startNat(ns, []);
    // (busybox 1.35 wget crashes with SIGSEGV when -T is given and the connection is refused: no -T below)
  });
  afterAll(async () => {
    await nat?.stop();
    await deleteNetns(ns);
  });

  it('busybox udhcpc gets the lease (address, router, DNS, MTU), then ping reaches the gateway and DNS address', async () => {
    const script = path.join(tmp, 'udhcpc.sh');
    const lease = path.join(tmp, 'lease');
    fs.writeFileSync(
      script,
      `#!/bin/sh\nif [ "$1" = bound ]; then ip addr add $ip/$mask dev $interface; ip route add default via $router; echo "$ip $mask $router $dns $mtu" > ${lease}; fi\n`,
      { mode: 0o755 },
    );
    await inNs(ns, ['ip', 'link', 'set', 'tap0', 'up']);
    await inNs(
      ns,
      ['busybox', 'udhcpc', '-i', 'tap0', '-f', '-q', '-n', '-t', '5', '-T', '1', '-s', script],
      30_000,
    );
    expect(fs.readFileSync(lease, 'utf8').trim()).toBe('10.0.2.15 24 10.0.2.2 10.0.2.3 1500');
    const ping = await inNs(ns, ['busybox', 'ping', '-c', '3', '-W', '2', '10.0.2.2']);
    expect(ping).toContain('3 packets received');
    const ping2 = await inNs(ns, ['busybox', 'ping', '-c', '1', '-s', '1400', '-W', '2', '10.0.2.3']);
    expect(ping2).toContain('1 packets received');
  });

  it('with host loopback off, wget to the gateway fails fast (connection refused)', async () => {
    const t0 = performance.now();
    const err = await inNs(ns, [
      'busybox',
      'wget',
      '-O',
      '/dev/null',
      `http://10.0.2.2:${httpPort}/small`,
    ]).then(
      () => '',
      (e: Error) => e.message,
    );
    const ms = performance.now() - t0;
    expect(err).toMatch(/refused/i);
    expect(ms).toBeLessThan(2000);
  });

  it('vmm nat exits by itself when its namespace is deleted', async () => {
    await deleteNetns(ns);
    const code = await Promise.race([
      nat.exited,
      new Promise((r) => setTimeout(() => r('still running after 5 s'), 5000)),
    ]);
    expect(code).toBe(0);
    expect(nat.output()).toContain('stopped (the namespace is gone)');
  });
});

/** The namespace's tap0 packet counters (a TCP super-segment counts once). */
async function tapPackets(ns: string): Promise<{ rx: number; tx: number }> {
  const j = JSON.parse(await inNs(ns, ['ip', '-s', '-j', 'link', 'show', 'tap0'])) as {
    stats64: { rx: { packets: number }; tx: { packets: number } };
  }[];
  return { rx: j[0]!.stats64.rx.packets, tx: j[0]!.stats64.tx.packets };
}

// At MTU 1500 TCP moves in super-segments of up to 64 KiB both ways (TSO through the tap's
// virtio_net_hdr); at 65520 every frame is a full-size segment.
describe.skipIf(skip).each([1500, 65520])(
  'vmm nat: TCP, DNS and hostfwd (--configure, MTU %i, host loopback on)',
  (mtu) => {
    let ns = '';
    let nat: Nat;
    let dns: Awaited<ReturnType<typeof startDnsServer>>;
    let fwdPort = 0;
    beforeAll(async () => {
      ns = await createNetns();
      dns = await startDnsServer({ 'test.vmm': '10.9.8.7' });
      fwdPort = await freePort();
      nat = await startNat(ns, [
        '--configure',
        '--mtu',
        String(mtu),
        '--host-loopback',
        '--dns',
        `127.0.0.1:${dns.port}`,
        '--hostfwd',
        `tcp:127.0.0.1:${fwdPort}-:8022`,
      ]);
    });
    afterAll(async () => {
      await nat?.stop();
      dns?.close();
      await deleteNetns(ns);
    });

    it('wget of 100 MiB from a host server on 127.0.0.1 has the right sha256', async () => {
      const before = await tapPackets(ns);
      const out = await inNs(ns, [
        'sh',
        '-c',
        `busybox wget -q -O - http://10.0.2.2:${httpPort}/big | busybox sha256sum`,
      ]);
      expect(out.split(' ')[0]).toBe(bigSha);
      const after = await tapPackets(ns);
      // 100 MiB is 71 820 segments of 1460 bytes: super-segments make it far fewer frames
      if (mtu === 1500) expect(after.rx - before.rx).toBeLessThan(10_000);
    });

    it('100 MiB upload (wget --post-file) arrives with the right sha256', async () => {
      // busybox wget reads --post-file as a C string: the body must hold no NUL byte
      const body = Buffer.allocUnsafe(BIG);
      for (let i = 0; i < BIG; i++) body[i] = 48 + (big[i]! & 63);
      const file = path.join(tmp, 'upload.txt');
      fs.writeFileSync(file, body);
      const sha = createHash('sha256').update(body).digest('hex');
      const before = await tapPackets(ns);
      const out = await inNs(ns, [
        'busybox',
        'wget',
        '-q',
        '-O',
        '-',
        '--post-file',
        file,
        `http://10.0.2.2:${httpPort}/upload`,
      ]);
      fs.rmSync(file);
      expect(out.trim()).toBe(`${BIG} ${sha}`);
      const after = await tapPackets(ns);
      if (mtu === 1500) expect(after.tx - before.tx).toBeLessThan(10_000);
    });

    it('a name resolves through the DNS forwarder to the test DNS server', async () => {
      const out = await inNs(ns, ['busybox', 'nslookup', 'test.vmm', '10.0.2.3']);
      expect(out).toContain('10.9.8.7');
      expect(dns.queries).toBeGreaterThan(0);
    });

    it('the host reaches a listener in the namespace through hostfwd', async () => {
      const listener = spawn('ip', [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        "require('net').createServer(s=>s.end('hello from the namespace\\n')).listen(8022,'0.0.0.0',()=>console.log('up'))",
      ]);
      try {
        await new Promise<void>((resolve, reject) => {
          listener.stdout.on('data', () => resolve());
          listener.once('exit', () => reject(new Error('listener exited')));
        });
        const got = await new Promise<string>((resolve, reject) => {
          const s = net.connect(fwdPort, '127.0.0.1');
          let text = '';
          s.on('data', (d) => (text += d.toString()));
          s.on('end', () => resolve(text));
          s.on('error', reject);
        });
        expect(got).toBe('hello from the namespace\n');
      } finally {
        listener.kill();
      }
    });

    it('200 concurrent connections all complete', async () => {
      const script = `
      const http = require('http'); let ok = 0, bad = 0, left = 200;
      const agent = new http.Agent({ maxSockets: Infinity });
      for (let i = 0; i < 200; i++) http.get({ host: '10.0.2.2', port: ${httpPort}, path: '/small', agent }, (res) => {
        let n = 0; res.on('data', (d) => n += d.length);
        res.on('end', () => { n === ${SMALL} ? ok++ : bad++; if (--left === 0) console.log(ok, bad); });
      }).on('error', (e) => { bad++; if (--left === 0) console.log(ok, bad); });`;
      const out = await inNs(ns, [process.execPath, '-e', script]);
      expect(out.trim()).toBe('200 0');
    });

    /** Samples the NAT's RSS while `load` runs; returns the growth over the baseline (KiB). */
    async function rssGrowth(load: () => Promise<unknown>): Promise<{ base: number; peak: number }> {
      const base = rssKiB(nat.pid);
      let peak = base;
      const timer = setInterval(() => (peak = Math.max(peak, rssKiB(nat.pid))), 100);
      try {
        await load();
      } finally {
        clearInterval(timer);
      }
      return { base, peak };
    }

    it('a slow host reader keeps the NAT memory bounded (guest sends as fast as it can)', async () => {
      let received = 0;
      const sink = net.createServer((s) => {
        s.pause(); // read nothing for 4 s, then drain
        setTimeout(() => {
          s.on('data', (d) => (received += d.length));
          s.resume();
        }, 4000);
      });
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
      const port = (sink.address() as net.AddressInfo).port;
      const r = await rssGrowth(() =>
        inNs(ns, ['sh', '-c', `timeout 6 busybox nc 10.0.2.2 ${port} < /dev/zero; true`]),
      );
      sink.close();
      console.log(
        `slow host reader: NAT RSS ${r.base} KiB -> peak ${r.peak} KiB; host read ${received >> 20} MiB after the stall`,
      );
      expect(received).toBeGreaterThan(1 << 20);
      expect(r.peak - r.base).toBeLessThan(64 * 1024);
    });

    it('a slow guest reader keeps the NAT memory bounded (host sends as fast as it can)', async () => {
      let sent = 0;
      const chunk = Buffer.alloc(1 << 20);
      const source = net.createServer((s) => {
        const pump = () => {
          while (s.writable && s.write(chunk)) sent += chunk.length;
        };
        s.on('drain', pump);
        s.on('error', () => undefined);
        pump();
      });
      await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
      const port = (source.address() as net.AddressInfo).port;
      const r = await rssGrowth(() =>
        inNs(ns, [
          'sh',
          '-c',
          `timeout 6 busybox nc 10.0.2.2 ${port} | (sleep 4; timeout 1 cat > /dev/null); true`,
        ]),
      );
      source.close();
      console.log(
        `slow guest reader: NAT RSS ${r.base} KiB -> peak ${r.peak} KiB; host wrote ${sent >> 20} MiB`,
      );
      expect(r.peak - r.base).toBeLessThan(64 * 1024);
    });

    it('the NAT is still serving and shuts down cleanly on SIGTERM', async () => {
      expect(nat.child.exitCode).toBeNull();
      const code = await nat.stop();
      expect(code).toBe(0);
      expect(nat.output()).toContain('stopped (SIGTERM)');
    });
  },
);
