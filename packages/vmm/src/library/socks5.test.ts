// The SOCKS5 server against curl as its client, the real agent (on a Unix socket here, on vsock in
// a VM) making the connections: a page fetched by name (resolved by the agent), by IPv4 and by
// IPv6 address (ATYP 1 and 4), username and password, refusals mapped to RFC 1928 replies, and a
// request cut short answered with a failure reply while the proxy goes on.
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent/test-support/agent-process';
import { startSocks5 } from './socks5';

const run = promisify(execFile);
let agent: RunningAgent;
let web: http.Server;
let webPort = 0;
/** The same page on the host's IPv6 loopback only. */
let web6: http.Server;
let web6Port = 0;

beforeAll(async () => {
  agent = await startAgent();
  web = http.createServer((req, res) => res.end(`hello from ${req.url}`));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  webPort = (web.address() as net.AddressInfo).port;
  web6 = http.createServer((req, res) => res.end(`hello over IPv6 from ${req.url}`));
  await new Promise<void>((r) => web6.listen(0, '::1', () => r()));
  web6Port = (web6.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => web.close(() => r()));
  await new Promise<void>((r) => web6.close(() => r()));
  await agent?.stop();
});

const connect = (host: string, port: number, timeoutMs: number) =>
  agent.client.connect(host, port, { timeoutMs });

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('curl', ['-sS', '--max-time', '20', ...args]);
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, out: err.stderr ?? '' };
  }
}

describe('SOCKS5 (RFC 1928) over the guest agent, with curl as the client', () => {
  it('fetches a page by name, the name resolved where the agent runs (--socks5-hostname)', async () => {
    const proxy = await startSocks5(connect);
    const r = await curl([
      '--socks5-hostname',
      `127.0.0.1:${proxy.port}`,
      `http://localhost:${webPort}/page`,
    ]);
    expect(r).toEqual({ code: 0, out: 'hello from /page' });
    // And by IPv4 address (curl resolves it itself: ATYP 1).
    const v4 = await curl(['--socks5', `127.0.0.1:${proxy.port}`, `http://127.0.0.1:${webPort}/v4`]);
    expect(v4).toEqual({ code: 0, out: 'hello from /v4' });
    await proxy.close();
  });

  it('IPv6: curl sends the address of [::1] (ATYP 4) and the agent connects to it', async () => {
    const asked: string[] = [];
    const proxy = await startSocks5((host, port, timeoutMs) => {
      asked.push(`${host} ${port}`);
      return connect(host, port, timeoutMs);
    });
    // socks5:// (not socks5h): curl resolves the name itself and sends the 16-byte address.
    const r = await curl(['-g', '-x', `socks5://127.0.0.1:${proxy.port}`, `http://[::1]:${web6Port}/v6`]);
    expect(r).toEqual({ code: 0, out: 'hello over IPv6 from /v6' });
    expect(asked).toEqual([`::1 ${web6Port}`]);
    await proxy.close();
  });

  it('a request cut short (ATYP 4 with 4 of its 16 address bytes, then end of stream) gets a failure reply; the proxy goes on', async () => {
    const proxy = await startSocks5(connect);
    const answer = await rawExchange(
      proxy.port,
      Buffer.of(5, 1, 0), // §3: version 5, one method: no authentication
      Buffer.of(5, 1, 0, 4, 0, 0, 0, 0), // §4: CONNECT, ATYP 4, then only 4 address bytes
    );
    // §3's method choice, then §6's reply: version 5, REP 1 "general SOCKS server failure".
    expect([...answer.subarray(0, 2)]).toEqual([5, 0]);
    expect([...answer.subarray(2, 4)]).toEqual([5, 1]);
    expect(answer.length).toBe(12);
    // A whole ATYP 4 request still works, by hand: ::1, the IPv6 server's port.
    const addr = Buffer.alloc(16);
    addr[15] = 1;
    const port = Buffer.alloc(2);
    port.writeUInt16BE(web6Port);
    const ok = await rawExchange(
      proxy.port,
      Buffer.of(5, 1, 0),
      Buffer.concat([Buffer.of(5, 1, 0, 4), addr, port]),
      'GET /raw HTTP/1.0\r\n\r\n',
    );
    expect([...ok.subarray(0, 4)]).toEqual([5, 0, 5, 0]);
    expect(ok.subarray(12).toString()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*hello over IPv6 from \/raw$/);
    await proxy.close();
  });

  it('takes username/password (RFC 1929) and refuses wrong ones', async () => {
    const proxy = await startSocks5(connect, { auth: { username: 'u', password: 'p4ss' } });
    const url = `http://localhost:${webPort}/auth`;
    const good = await curl(['--proxy', `socks5h://u:p4ss@127.0.0.1:${proxy.port}`, url]);
    expect(good).toEqual({ code: 0, out: 'hello from /auth' });
    const bad = await curl(['--proxy', `socks5h://u:wrong@127.0.0.1:${proxy.port}`, url]);
    expect(bad.code).not.toBe(0);
    const none = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, url]);
    expect(none.code).not.toBe(0);
    await proxy.close();
  });

  it('a refused port is a "connection refused" reply, onConnectError is told why, and the proxy goes on', async () => {
    const why: string[] = [];
    const proxy = await startSocks5(connect, {
      onConnectError: (target, e) => why.push(`${target} ${(e as { code?: string }).code}`),
    });
    const closed = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, 'http://127.0.0.1:1/']);
    expect(closed.code).not.toBe(0);
    expect(closed.out).toMatch(/SOCKS5 connection to .*\(5\)/); // RFC 1928 §6: X'05' connection refused
    expect(why).toEqual(['127.0.0.1:1 ECONNREFUSED']);
    const after = await curl([
      '--socks5-hostname',
      `127.0.0.1:${proxy.port}`,
      `http://localhost:${webPort}/again`,
    ]);
    expect(after).toEqual({ code: 0, out: 'hello from /again' });
    await proxy.close();
  });

  it('a guest that does not answer a CONNECT gets the client a "TTL expired" reply once connectTimeoutMs and the grace are past', async () => {
    const why: string[] = [];
    const quick = (host: string, port: number, timeoutMs: number) =>
      agent.client.connect(host, port, { timeoutMs, timeoutGraceMs: 300 });
    const proxy = await startSocks5(quick, {
      connectTimeoutMs: 200,
      onConnectError: (target, e) => why.push(`${target} ${(e as { code?: string }).code}`),
    });
    process.kill(agent.pid, 'SIGSTOP'); // a wedged guest: the CONNECT waits unanswered
    // Woken again after 10 s whatever happens: a proxy that waits for ever then fails, not hangs.
    const wake = setTimeout(() => process.kill(agent.pid, 'SIGCONT'), 10_000);
    try {
      const t0 = Date.now();
      const r = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://localhost:${webPort}/`]);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/SOCKS5 connection to .*\(6\)/); // RFC 1928 §6: X'06' TTL expired
      expect(why).toEqual([`localhost:${webPort} AGENT_TIMEOUT`]);
    } finally {
      clearTimeout(wake);
      process.kill(agent.pid, 'SIGCONT');
      await proxy.close();
    }
    await expect(startSocks5(connect, { connectTimeoutMs: -1 })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('a listen address that is not HOST:PORT is a clear error', async () => {
    await expect(startSocks5(connect, { listen: 'nope' })).rejects.toThrow(/is not HOST:PORT/);
  });
});

/**
 * Speak SOCKS5 by hand: write `greeting`, then `request` once the method choice is in, then
 * `after` once the reply is in (or end the stream after the request when there is none); collect
 * everything the proxy sends until it closes.
 */
function rawExchange(port: number, greeting: Buffer, request: Buffer, after?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.once('error', reject);
    c.once('close', () => resolve(Buffer.concat(got)));
    c.setTimeout(20_000, () => c.destroy(new Error('the proxy did not answer within 20 s')));
    c.once('connect', () => {
      c.write(greeting);
      c.once('data', () => {
        c.write(request);
        if (after === undefined) c.end();
        else c.once('data', () => c.end(after));
      });
    });
  });
}

describe('a host port forwarded to a port where the agent runs', () => {
  it('carries HTTP through to the server, and a closed port closes the client', async () => {
    const { startForward } = await import('./forward');
    const fwd = await startForward(connect, { guestPort: webPort });
    const r = await curl([`http://127.0.0.1:${fwd.port}/fwd`]);
    expect(r).toEqual({ code: 0, out: 'hello from /fwd' });
    await fwd.close();
    const dead = await startForward(connect, { guestPort: 1 });
    const d = await curl([`http://127.0.0.1:${dead.port}/`]);
    expect(d.code).not.toBe(0);
    await dead.close();
  });

  it('closes the client once connectTimeoutMs and the grace are past when the guest does not answer', async () => {
    const { startForward } = await import('./forward');
    const quick = (host: string, port: number, timeoutMs: number) =>
      agent.client.connect(host, port, { timeoutMs, timeoutGraceMs: 300 });
    const fwd = await startForward(quick, { guestPort: webPort, connectTimeoutMs: 200 });
    process.kill(agent.pid, 'SIGSTOP');
    const wake = setTimeout(() => process.kill(agent.pid, 'SIGCONT'), 10_000);
    try {
      const t0 = Date.now();
      const r = await curl([`http://127.0.0.1:${fwd.port}/`]);
      expect(r.code).not.toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      clearTimeout(wake);
      process.kill(agent.pid, 'SIGCONT');
      await fwd.close();
    }
    await expect(startForward(connect, { guestPort: 80, connectTimeoutMs: 2 ** 40 })).rejects.toMatchObject({
      code: 'EINVAL',
    });
  });
});
