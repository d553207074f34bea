// The SOCKS5 server against curl as its client, the real agent (on a Unix socket here, on vsock in
// a VM) making the connections: a page fetched by name (resolved by the agent), username and
// password, refusals mapped to RFC 1928 replies.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent/test-support/agent-process';
import { startSocks5 } from './socks5';

const run = promisify(execFile);
let agent: RunningAgent;
let web: http.Server;
let webPort = 0;

beforeAll(async () => {
  agent = await startAgent();
  web = http.createServer((req, res) => res.end(`hello from ${req.url}`));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  webPort = (web.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => web.close(() => r()));
  await agent?.stop();
});

const connect = (host: string, port: number) => agent.client.connect(host, port);

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

  it('a refused port is a "connection refused" reply, and the proxy goes on', async () => {
    const proxy = await startSocks5(connect);
    const closed = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, 'http://127.0.0.1:1/']);
    expect(closed.code).not.toBe(0);
    expect(closed.out).toMatch(/SOCKS5 connection to .*\(5\)/); // RFC 1928 §6: X'05' connection refused
    const after = await curl([
      '--socks5-hostname',
      `127.0.0.1:${proxy.port}`,
      `http://localhost:${webPort}/again`,
    ]);
    expect(after).toEqual({ code: 0, out: 'hello from /again' });
    await proxy.close();
  });

  it('a listen address that is not HOST:PORT is a clear error', async () => {
    await expect(startSocks5(connect, { listen: 'nope' })).rejects.toThrow(/is not HOST:PORT/);
  });
});

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
});
