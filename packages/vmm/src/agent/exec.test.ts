// EXEC against the real agent on a Unix socket (test-support/agent-process.ts).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from './client';
import { AgentError } from './errors';
import { groupAlive, startAgent, type RunningAgent } from './test-support/agent-process';

let agent: RunningAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
});

describe('exec', () => {
  it('returns exit codes 0 and 3', async () => {
    const ok = await agent.client.exec(['true']);
    expect(ok).toMatchObject({ code: 0, signal: null, timedOut: false });
    const three = await agent.client.exec(['sh', '-c', 'exit 3']);
    expect(three).toMatchObject({ code: 3, signal: null, timedOut: false });
  });

  it('kills the whole process group on timeout, quickly, and leaves no process behind', async () => {
    const t0 = Date.now();
    // sh forks sleep: the group has two members, the grandchild must go too.
    const r = await agent.client.exec(['sh', '-c', 'echo $$; sleep 30; echo not-reached'], {
      timeoutMs: 300,
    });
    const took = Date.now() - t0;
    expect(r).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: true });
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(3000);
    const pgid = Number(r.stdout.toString().trim());
    expect(pgid).toBe(r.pid);
    expect(groupAlive(pgid)).toBe(false);

    const direct = await agent.client.exec(['sleep', '30'], { timeoutMs: 300 });
    expect(direct).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: true });
    expect(groupAlive(direct.pid)).toBe(false);
  });

  it('reports the signal that ended the command', async () => {
    const r = await agent.client.exec(['sh', '-c', 'kill -TERM $$']);
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM', timedOut: false });
  });

  it('keeps stdout and stderr apart', async () => {
    const script = 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done';
    const seen: string[] = [];
    const r = await agent.client.exec(['sh', '-c', script], {
      onStdout: (c) => seen.push(`o:${c.toString()}`),
      onStderr: (c) => seen.push(`e:${c.toString()}`),
    });
    expect(r.stdout.toString()).toBe('out1\nout2\nout3\nout4\nout5\n');
    expect(r.stderr.toString()).toBe('err1\nerr2\nerr3\nerr4\nerr5\n');
    expect(seen.some((s) => s.startsWith('o:'))).toBe(true);
    expect(seen.some((s) => s.startsWith('e:'))).toBe(true);
  });

  it('pipes stdin to the command and ends it with EOF', async () => {
    const cat = await agent.client.exec(['cat'], { stdin: 'hello\nworld\n' });
    expect(cat.stdout.toString()).toBe('hello\nworld\n');

    const big = Buffer.alloc(5 * 1024 * 1024 + 7, 0x61);
    const wc = await agent.client.exec(['wc', '-c'], { stdin: big });
    expect(wc.stdout.toString().trim()).toBe(String(big.length));

    const fromStream = await agent.client.exec(['wc', '-c'], {
      stdin: Readable.from([Buffer.from('abc'), Buffer.from('defg')]),
    });
    expect(fromStream.stdout.toString().trim()).toBe('7');

    const none = await agent.client.exec(['cat']); // no stdin: EOF at once, cat ends
    expect(none).toMatchObject({ code: 0 });
    expect(none.stdout.length).toBe(0);
  });

  it('copes with a command that exits without reading its stdin', async () => {
    const r = await agent.client.exec(['true'], { stdin: Buffer.alloc(4 * 1024 * 1024) });
    expect(r.code).toBe(0);
  });

  it('honours env (added to or replacing the default) and cwd', async () => {
    const r = await agent.client.exec(['sh', '-c', 'echo "$FOO|$HOME|$PATH"; pwd'], {
      env: { FOO: 'bar baz', HOME: '/tmp' },
      cwd: '/usr',
    });
    expect(r.stdout.toString()).toBe(
      'bar baz|/tmp|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/usr\n',
    );
    const replaced = await agent.client.exec(['/usr/bin/env'], { env: { ONLY: '1' }, replaceEnv: true });
    expect(replaced.stdout.toString()).toBe('ONLY=1\n');
    // The agent's own environment never leaks into a command.
    const clean = await agent.client.exec(['/usr/bin/env']);
    expect(clean.stdout.toString().split('\n').filter(Boolean).sort()).toEqual([
      'HOME=/root',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
  });

  it('rejects with the errno when the command cannot start', async () => {
    const missing = await agent.client.exec(['/no/such/program']).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AgentError);
    expect(missing).toMatchObject({ code: 'ENOENT', errno: 2, op: 'exec' });
    expect((missing as Error).message).toContain("cannot run '/no/such/program'");

    const badCwd = await agent.client.exec(['true'], { cwd: '/no/such/dir' }).catch((e: unknown) => e);
    expect(badCwd).toMatchObject({ code: 'ENOENT', errno: 2 });
    expect((badCwd as Error).message).toContain("cannot change to directory '/no/such/dir'");

    const plain = path.join(agent.dir, 'not-executable');
    fs.writeFileSync(plain, 'echo hi\n', { mode: 0o644 });
    const notExec = await agent.client.exec([plain]).catch((e: unknown) => e);
    expect(notExec).toMatchObject({ code: 'EACCES', errno: 13 });
  });

  it('rejects requests over the protocol caps before sending them', async () => {
    const many = Array.from({ length: 4097 }, () => 'x');
    await expect(agent.client.exec(many)).rejects.toMatchObject({ code: 'AGENT_BAD_REQUEST' });
    await expect(agent.client.exec([])).rejects.toMatchObject({ code: 'AGENT_BAD_REQUEST' });
    await expect(agent.client.exec(['echo', 'a\0b'])).rejects.toMatchObject({ code: 'AGENT_BAD_REQUEST' });
  });

  it('says when the agent cannot be reached at all', async () => {
    const nowhere = new AgentClient(
      () =>
        new Promise((resolve, reject) => {
          const s = net.connect({ path: path.join(agent.dir, 'no-such.sock') });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }),
    );
    await expect(nowhere.exec(['true'])).rejects.toMatchObject({ code: 'AGENT_UNREACHABLE', op: 'exec' });
  });

  it('runs 50 execs at once, each with its own result', async () => {
    const runs = Array.from({ length: 50 }, (_, i) =>
      agent.client.exec(['sh', '-c', `echo out$1; echo err$1 >&2; exit $(( $1 % 7 ))`, 'sh', String(i)]),
    );
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      expect(r.stdout.toString()).toBe(`out${i}\n`);
      expect(r.stderr.toString()).toBe(`err${i}\n`);
      expect(r.code).toBe(i % 7);
    });
  });

  it('caps the captured output and says so, while the callback sees everything', async () => {
    let streamed = 0;
    const r = await agent.client.exec(['head', '-c', '300000', '/dev/zero'], {
      maxOutputBytes: 100_000,
      onStdout: (c) => (streamed += c.length),
    });
    expect(r.stdout.length).toBe(100_000);
    expect(r.stdoutTruncated).toBe(true);
    expect(r.stderrTruncated).toBe(false);
    expect(streamed).toBe(300_000);
  });

  it('does not wait forever for a background process that holds stdout open', async () => {
    const t0 = Date.now();
    const r = await agent.client.exec(['sh', '-c', 'sleep 5 & echo started']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('started\n');
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('gives up on a guest that does not report the end within timeoutMs and the grace', async () => {
    // A stopped agent is a wedged guest: connections wait in its backlog, unanswered.
    process.kill(agent.pid, 'SIGSTOP');
    // Woken again after 5 s whatever happens: a client that waits for ever then fails, not hangs.
    const wake = setTimeout(() => process.kill(agent.pid, 'SIGCONT'), 5000);
    try {
      const t0 = Date.now();
      const r = await agent.client
        .exec(['true'], { timeoutMs: 200, timeoutGraceMs: 300 })
        .catch((e: unknown) => e);
      const took = Date.now() - t0;
      expect(r).toBeInstanceOf(AgentError);
      expect(r).toMatchObject({ code: 'AGENT_TIMEOUT', op: 'exec' });
      expect((r as Error).message).toContain('within its timeoutMs (200 ms) and 300 ms more');
      expect(took).toBeGreaterThanOrEqual(490);
      expect(took).toBeLessThan(5000);
    } finally {
      clearTimeout(wake);
      process.kill(agent.pid, 'SIGCONT');
    }
    expect((await agent.client.exec(['true'])).code).toBe(0); // and it serves on once it runs
    await expect(agent.client.exec(['true'], { timeoutGraceMs: -1 })).rejects.toMatchObject({
      code: 'AGENT_BAD_REQUEST',
    });
  });

  it('kills the process group when the caller aborts', async () => {
    const ac = new AbortController();
    let pid = 0;
    const run = agent.client.exec(['sh', '-c', 'echo $$; sleep 30'], {
      signal: ac.signal,
      onStdout: (c) => {
        pid = Number(c.toString().trim());
        ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'AGENT_ABORTED' });
    await expect(agent.client.exec(['true'], { signal: ac.signal })).rejects.toMatchObject({
      code: 'AGENT_ABORTED',
    });
    const t0 = Date.now();
    while (groupAlive(pid) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(groupAlive(pid)).toBe(false);
  });
});
