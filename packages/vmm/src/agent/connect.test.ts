// CONNECT against the real agent on a Unix socket (test-support/agent-process.ts), to TCP servers
// this test runs on 127.0.0.1.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from './errors';
import { startAgent, type RunningAgent } from './test-support/agent-process';

let agent: RunningAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
});

function listen(onConnection: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

function readAll(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

describe('connect', () => {
  it('relays bytes both ways and passes the client’s half-close on', async () => {
    // An echo server that answers only after the client's end, then ends itself.
    const server = await listen((s) => {
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      s.on('end', () => s.end(Buffer.concat(got)));
    });
    try {
      const stream = await agent.client.connect('127.0.0.1', portOf(server));
      const data = Buffer.alloc(3 * 1024 * 1024 + 1);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      const reply = readAll(stream);
      stream.end(data);
      expect((await reply).equals(data)).toBe(true);
      stream.destroy();
    } finally {
      server.close();
    }
  });

  it('passes the server’s half-close on, and the client can still send after it', async () => {
    let received: Promise<string> | undefined;
    const server = await listen((s) => {
      s.end('banner\n'); // the server is done sending first
      received = readAll(s).then((b) => b.toString());
    });
    try {
      const stream = await agent.client.connect('localhost', portOf(server)); // resolved with /etc/hosts
      const banner = await readAll(stream);
      expect(banner.toString()).toBe('banner\n');
      stream.end('sent after the server ended\n');
      await new Promise((r) => setTimeout(r, 50));
      expect(await received).toBe('sent after the server ended\n');
      stream.destroy();
    } finally {
      server.close();
    }
  });

  it('delivers bytes the server sends at once, with the OK', async () => {
    const server = await listen((s) => s.end('hello at once'));
    try {
      const stream = await agent.client.connect('127.0.0.1', portOf(server));
      expect((await readAll(stream)).toString()).toBe('hello at once');
      stream.destroy();
    } finally {
      server.close();
    }
  });

  it('connects to IPv6 literals', async () => {
    const server = net.createServer((s) => s.end('six'));
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(0, '::1', () => resolve(true));
    });
    if (!ok) {
      console.log('SKIPPED IPv6 connect: no ::1 on this host');
      return;
    }
    try {
      const stream = await agent.client.connect('[::1]', portOf(server));
      expect((await readAll(stream)).toString()).toBe('six');
      stream.destroy();
    } finally {
      server.close();
    }
  });

  it('reports a refused connection as ECONNREFUSED', async () => {
    const server = await listen(() => {});
    const port = portOf(server);
    await new Promise((r) => server.close(r));
    const e = await agent.client.connect('127.0.0.1', port).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AgentError);
    expect(e).toMatchObject({ code: 'ECONNREFUSED', errno: 111, op: 'connect' });
    expect((e as Error).message).toContain(`cannot connect to 127.0.0.1 port ${port}`);
  });

  it('reports a name that does not resolve', async () => {
    const e = await agent.client.connect('no-such-host.invalid', 80).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AgentError);
    // ENOENT: the resolver said no such name; EAGAIN: no resolver could be reached from here.
    expect(['ENOENT', 'EAGAIN']).toContain((e as AgentError).code);
    expect((e as Error).message).toContain("cannot resolve 'no-such-host.invalid' in the guest");
  });

  it('gives up on a guest that does not answer within timeoutMs and the grace', async () => {
    const server = await listen((s) => s.end());
    process.kill(agent.pid, 'SIGSTOP');
    // Woken again after 5 s whatever happens: a client that waits for ever then fails, not hangs.
    const wake = setTimeout(() => process.kill(agent.pid, 'SIGCONT'), 5000); // a wedged guest: the CONNECT waits in the agent's backlog
    try {
      const t0 = Date.now();
      const e = await agent.client
        .connect('127.0.0.1', portOf(server), { timeoutMs: 200, timeoutGraceMs: 300 })
        .catch((err: unknown) => err);
      expect(e).toBeInstanceOf(AgentError);
      expect(e).toMatchObject({ code: 'AGENT_TIMEOUT', op: 'connect' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
    } finally {
      clearTimeout(wake);
      process.kill(agent.pid, 'SIGCONT');
    }
    const up = await agent.client.connect('127.0.0.1', portOf(server), { timeoutMs: 200 });
    expect((await readAll(up)).length).toBe(0); // the server ends at once: answered, not timed out
    up.destroy();
    server.close();
  });

  it('rejects a bad port before sending', async () => {
    await expect(agent.client.connect('127.0.0.1', 0)).rejects.toMatchObject({ code: 'AGENT_BAD_REQUEST' });
    await expect(agent.client.connect('127.0.0.1', 70000)).rejects.toMatchObject({
      code: 'AGENT_BAD_REQUEST',
    });
  });
});
