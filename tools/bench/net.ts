// `pnpm bench net`: iperf3 download and upload throughput and TCP request/response latency from a
// network namespace to servers on host 127.0.0.1 (reached at the gateway 10.0.2.2), through
// `vmm nat`, `slirp4netns` (libslirp) and `pasta` (passt): same workload, same MTU, at the
// default MTU 1500 and at 65520, in interleaved rounds (BENCH_NET_ROUNDS, default 3); the table
// holds each one's median. BENCH_NET_MTU=N runs one MTU only.
// Needs root, /dev/net/tun, iproute2, iperf3, slirp4netns and passt (Debian packages).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { median } from './median';
import { builtVmm, root } from './paths';

const run = promisify(execFile);
const MTUS = process.env.BENCH_NET_MTU ? [Number(process.env.BENCH_NET_MTU)] : [1500, 65520];
const SECONDS = Number(process.env.BENCH_NET_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_NET_ROUNDS ?? 3);
const RR_COUNT = 5000;
const IPERF_PORT = 15299;

interface Peer {
  name: string;
  start(ns: string, mtu: number): ChildProcess;
}

const peers: Peer[] = [
  {
    name: 'vmm nat',
    start: (ns, mtu) =>
      spawn(
        process.execPath,
        [
          builtVmm,
          'nat',
          '--netns',
          `/var/run/netns/${ns}`,
          '--configure',
          '--host-loopback',
          '--mtu',
          String(mtu),
        ],
        {
          cwd: root,
          env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'packages/cli/tsconfig.json') },
          stdio: 'ignore',
        },
      ),
  },
  {
    name: 'slirp4netns',
    start: (ns, mtu) =>
      spawn(
        'slirp4netns',
        ['--configure', `--mtu=${mtu}`, '--netns-type=path', `/var/run/netns/${ns}`, 'tap0'],
        { stdio: 'ignore' },
      ),
  },
  {
    name: 'pasta',
    start: (ns, mtu) =>
      spawn(
        'pasta',
        [
          '--runas',
          '0:0',
          '--config-net',
          '--netns',
          `/var/run/netns/${ns}`,
          '--netns-only',
          '-a',
          '10.0.2.100',
          '-n',
          '24',
          '-g',
          '10.0.2.2',
          '-m',
          String(mtu),
          '-f',
        ],
        {
          stdio: 'ignore',
        },
      ),
  },
];

async function waitReady(ns: string, child: ChildProcess): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const { stdout } = await run('ip', ['-n', ns, '-4', 'route', 'show', 'default']);
    if (stdout.includes('via')) {
      // the route exists: wait until the gateway answers a TCP connect (the iperf3 port)
      const ok = await run('ip', [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        `require('net').connect(${IPERF_PORT}, '10.0.2.2', function () { this.destroy(); }).on('error', () => process.exit(1))`,
      ]).then(
        () => true,
        () => false,
      );
      if (ok) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('not ready after 20 s');
}

async function iperf(ns: string, reverse: boolean): Promise<number> {
  const args = [
    'netns',
    'exec',
    ns,
    'iperf3',
    '-c',
    '10.0.2.2',
    '-p',
    String(IPERF_PORT),
    '-t',
    String(SECONDS),
    '-J',
    ...(reverse ? ['-R'] : []),
  ];
  const { stdout } = await run('ip', args, { timeout: (SECONDS + 30) * 1000, maxBuffer: 16 << 20 });
  const j = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

/** Median round trip (µs) of 1-byte request/responses on one connection, timed inside the namespace. */
async function requestResponse(ns: string, port: number): Promise<number> {
  const script = `
    const s = require('net').connect(${port}, '10.0.2.2', () => { s.setNoDelay(true); next(); });
    const times = []; let t0 = 0; const one = Buffer.from('x');
    function next() { if (times.length === ${RR_COUNT}) { times.sort((a, b) => a - b); console.log(times[times.length >> 1]); s.destroy(); return; } t0 = process.hrtime.bigint(); s.write(one); }
    s.on('data', () => { times.push(Number(process.hrtime.bigint() - t0) / 1000); next(); });`;
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    timeout: 60_000,
  });
  return Number(stdout.trim());
}

export default async function benchNet(): Promise<string> {
  const iperfServer = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(IPERF_PORT)], {
    stdio: 'ignore',
  });
  const echo = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as net.AddressInfo).port;
  await new Promise((r) => setTimeout(r, 300));
  type Run = { down: number; up: number; rr: number };
  /** mtu -> peer -> the rounds' results (or the first error) */
  const results = new Map<number, Map<string, { runs: Run[]; error?: string }>>();
  let nsCount = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const mtu of MTUS) {
        if (!results.has(mtu)) results.set(mtu, new Map());
        for (const peer of peers) {
          const byPeer = results.get(mtu)!;
          if (!byPeer.has(peer.name)) byPeer.set(peer.name, { runs: [] });
          const slot = byPeer.get(peer.name)!;
          if (slot.error) continue;
          process.stderr.write(`bench net: round ${round + 1} of ${ROUNDS}, MTU ${mtu}, ${peer.name}\n`);
          const ns = `vmmbench-${process.pid}-${nsCount++}`;
          await run('ip', ['netns', 'add', ns]);
          const child = peer.start(ns, mtu);
          try {
            await waitReady(ns, child);
            const down = await iperf(ns, true);
            const up = await iperf(ns, false);
            const rr = await requestResponse(ns, echoPort);
            slot.runs.push({ down, up, rr });
          } catch (e) {
            slot.error = (e as Error).message.split('\n')[0];
          } finally {
            child.kill('SIGTERM');
            await new Promise((r) => setTimeout(r, 300));
            await run('ip', ['netns', 'del', ns]).catch(() => undefined);
          }
        }
      }
    }
  } finally {
    iperfServer.kill();
    echo.close();
  }
  const ratio = (a: number, b: number | undefined) =>
    b && Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}x` : 'n/a';
  const lines = [
    `iperf3 -t ${SECONDS}; median of ${ROUNDS} interleaved rounds; request/response: median of ${RR_COUNT} 1-byte round trips on one connection (node client in the namespace, echo server on host 127.0.0.1).`,
    '',
    '| MTU | NAT | download Gbit/s | upload Gbit/s | TCP RR median µs | download vs slirp4netns | upload vs slirp4netns | download vs pasta | upload vs pasta |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [mtu, byPeer] of results) {
    const med = new Map(
      [...byPeer].map(([name, r]) => [
        name,
        {
          down: median(r.runs.map((x) => x.down)),
          up: median(r.runs.map((x) => x.up)),
          rr: median(r.runs.map((x) => x.rr)),
          error: r.error,
        },
      ]),
    );
    const slirp = med.get('slirp4netns');
    const pasta = med.get('pasta');
    for (const [name, r] of med) {
      lines.push(
        r.error
          ? `| ${mtu} | ${name} | failed: ${r.error} | | | | | | |`
          : `| ${mtu} | ${name} | ${r.down.toFixed(2)} | ${r.up.toFixed(2)} | ${r.rr.toFixed(0)} | ${ratio(r.down, slirp?.down)} | ${ratio(r.up, slirp?.up)} | ${ratio(r.down, pasta?.down)} | ${ratio(r.up, pasta?.up)} |`,
      );
    }
  }
  return lines.join('\n');
}
