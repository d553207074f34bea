// COPY_IN and COPY_OUT against the real agent on a Unix socket (test-support/agent-process.ts).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from './errors';
import { startAgent, type RunningAgent } from './test-support/agent-process';

let agent: RunningAgent;
let dir: string;
beforeAll(async () => {
  agent = await startAgent();
  // tmpfs where there is one: 100 MiB three times over costs no disk.
  dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'vmm-agent-copy-'));
});
afterAll(async () => {
  await agent?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}

describe('copyIn and copyOut', () => {
  it('moves 100 MiB in and out intact', async () => {
    const src = path.join(dir, 'src.bin');
    const fd = fs.openSync(src, 'w');
    for (let i = 0; i < 100; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
    fs.writeSync(fd, Buffer.from('an odd tail'));
    fs.closeSync(fd);
    const guest = path.join(dir, 'guest.bin');
    const back = path.join(dir, 'back.bin');
    await agent.client.copyIn(src, guest);
    expect(fs.statSync(guest).size).toBe(100 * 1024 * 1024 + 11);
    await agent.client.copyOut(guest, back);
    const want = await sha256(src);
    expect(await sha256(guest)).toBe(want);
    expect(await sha256(back)).toBe(want);
  }, 120_000);

  it('copies empty files and files whose size says nothing (/proc)', async () => {
    const empty = path.join(dir, 'empty');
    fs.writeFileSync(empty, '');
    await agent.client.copyIn(empty, path.join(dir, 'empty-in'));
    expect(fs.readFileSync(path.join(dir, 'empty-in')).length).toBe(0);
    const out = path.join(dir, 'version');
    await agent.client.copyOut('/proc/version', out);
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync('/proc/version', 'utf8'));
  });

  it('sets the mode exactly, by default the host file’s', async () => {
    const src = path.join(dir, 'script.sh');
    fs.writeFileSync(src, '#!/bin/sh\necho ran\n');
    fs.chmodSync(src, 0o750);
    const dst = path.join(dir, 'script-in.sh');
    await agent.client.copyIn(src, dst);
    expect(fs.statSync(dst).mode & 0o7777).toBe(0o750);
    expect((await agent.client.exec([dst])).stdout.toString()).toBe('ran\n');
    await agent.client.copyIn(src, dst, { mode: 0o600 }); // an existing file gets the new mode too
    expect(fs.statSync(dst).mode & 0o7777).toBe(0o600);
  });

  it('reports a missing guest path with its errno', async () => {
    const host = path.join(dir, 'never-created');
    const out = await agent.client.copyOut('/no/such/file', host).catch((e: unknown) => e);
    expect(out).toBeInstanceOf(AgentError);
    expect(out).toMatchObject({ code: 'ENOENT', errno: 2, op: 'copyOut' });
    expect((out as Error).message).toContain(
      "cannot open '/no/such/file' for reading: No such file or directory",
    );
    expect(fs.existsSync(host)).toBe(false); // nothing created on the host

    const src = path.join(dir, 'small');
    fs.writeFileSync(src, 'x');
    const into = await agent.client.copyIn(src, '/no/such/dir/file').catch((e: unknown) => e);
    expect(into).toMatchObject({ code: 'ENOENT', errno: 2, op: 'copyIn' });

    const dirOut = await agent.client.copyOut(dir, path.join(dir, 'x')).catch((e: unknown) => e);
    expect(dirOut).toMatchObject({ code: 'EISDIR', errno: 21 });
    const dirIn = await agent.client.copyIn(src, dir).catch((e: unknown) => e);
    expect(dirIn).toMatchObject({ code: 'EISDIR', errno: 21 });
  });

  it('reports a permission problem with its errno', async () => {
    // Root passes permission checks, so as root the check runs against an agent run as nobody.
    const asRoot = process.getuid?.() === 0;
    const unprivileged = asRoot ? await startAgent({ uid: 65534, gid: 65534 }) : agent;
    try {
      const locked = path.join(dir, 'locked');
      fs.writeFileSync(locked, 'secret');
      fs.chmodSync(locked, 0o000);
      const sealed = path.join(dir, 'sealed');
      fs.mkdirSync(sealed, { mode: 0o555 });
      fs.chmodSync(dir, 0o755); // nobody may enter dir, but not write into sealed or read locked
      const out = await unprivileged.client
        .copyOut(locked, path.join(dir, 'stolen'))
        .catch((e: unknown) => e);
      expect(out).toBeInstanceOf(AgentError);
      expect(out).toMatchObject({ code: 'EACCES', errno: 13, op: 'copyOut' });
      expect((out as Error).message).toContain('Permission denied');
      const readable = path.join(dir, 'readable');
      fs.writeFileSync(readable, 'x');
      const into = await unprivileged.client
        .copyIn(readable, path.join(sealed, 'f'))
        .catch((e: unknown) => e);
      expect(into).toMatchObject({ code: 'EACCES', errno: 13, op: 'copyIn' });
    } finally {
      if (asRoot) await unprivileged.stop();
    }
  });

  it('stops an upload at once when the guest cannot write, and reports a read error mid-way', async () => {
    const src = path.join(dir, 'ten-mib');
    fs.writeFileSync(src, Buffer.alloc(10 * 1024 * 1024));
    const full = await agent.client.copyIn(src, '/dev/full').catch((e: unknown) => e);
    expect(full).toBeInstanceOf(AgentError);
    expect(full).toMatchObject({ code: 'ENOSPC', errno: 28, op: 'copyIn' });
    expect((full as Error).message).toContain("cannot write '/dev/full' after 0 bytes");

    // /proc/self/mem opens, then its first read (address 0, unmapped) fails.
    const host = path.join(dir, 'mem');
    const mem = await agent.client.copyOut('/proc/self/mem', host).catch((e: unknown) => e);
    expect(mem).toMatchObject({ code: 'EIO', errno: 5, op: 'copyOut' });
    expect(fs.existsSync(host)).toBe(false); // the partial host file is removed
  });

  /** An agent of its own for a test that copies /dev/zero: killed after `ms` if the copy has not
      stopped by then, so that a client which does not stop fails the test instead of filling /dev/shm. */
  async function endlessCopyAgent(ms = 15_000): Promise<RunningAgent> {
    const own = await startAgent();
    const watchdog = setTimeout(() => process.kill(own.pid, 'SIGKILL'), ms);
    const stop = own.stop;
    own.stop = async () => {
      clearTimeout(watchdog);
      await stop();
    };
    return own;
  }

  it('refuses a guest file over maxBytes: before making the host file when its size is known, else once more came', async () => {
    const src = path.join(dir, 'two-mib');
    fs.writeFileSync(src, randomBytes(2 * 1024 * 1024));
    const back = path.join(dir, 'two-mib-back');
    const big = await agent.client.copyOut(src, back, { maxBytes: 1024 * 1024 }).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(AgentError);
    expect(big).toMatchObject({ code: 'AGENT_TOO_LARGE', op: 'copyOut' });
    expect((big as Error).message).toContain('is 2097152 bytes, over maxBytes (1048576)');
    expect(fs.existsSync(back)).toBe(false);
    await agent.client.copyOut(src, back, { maxBytes: 2 * 1024 * 1024 }); // exactly: taken
    expect(await sha256(back)).toBe(await sha256(src));

    // /dev/zero says no size and never ends: the copy stops at the cap, and keeps nothing.
    const zeros = path.join(dir, 'zeros');
    const own = await endlessCopyAgent();
    const endless = await own.client
      .copyOut('/dev/zero', zeros, { maxBytes: 3 * 1024 * 1024 })
      .catch((e: unknown) => e)
      .finally(() => own.stop());
    expect(endless).toMatchObject({ code: 'AGENT_TOO_LARGE', op: 'copyOut' });
    expect((endless as Error).message).toContain('the guest sent more than maxBytes (3145728)');
    expect(fs.existsSync(zeros)).toBe(false);

    await expect(agent.client.copyOut(src, back, { maxBytes: -1 })).rejects.toMatchObject({
      code: 'AGENT_BAD_REQUEST',
    });
    expect((await agent.client.exec(['true'])).code).toBe(0); // the agent serves on
  });

  it('stops a copy that never ends when the caller aborts, either way', async () => {
    const grows = async (file: string, ac: AbortController): Promise<void> => {
      while (!(fs.existsSync(file) && fs.statSync(file).size > 1024 * 1024))
        await new Promise((r) => setTimeout(r, 10));
      ac.abort();
    };
    const own = await endlessCopyAgent();
    try {
      const out = path.join(dir, 'zeros-out');
      const acOut = new AbortController();
      const copyOut = own.client.copyOut('/dev/zero', out, { signal: acOut.signal });
      await grows(out, acOut);
      await expect(copyOut).rejects.toMatchObject({ code: 'AGENT_ABORTED', op: 'copyOut' });
      expect(fs.existsSync(out)).toBe(false);

      const into = path.join(dir, 'zeros-in');
      const acIn = new AbortController();
      const copyIn = own.client.copyIn('/dev/zero', into, { signal: acIn.signal });
      await grows(into, acIn);
      await expect(copyIn).rejects.toMatchObject({ code: 'AGENT_ABORTED', op: 'copyIn' });
      expect((await own.client.exec(['true'])).code).toBe(0); // it serves on
    } finally {
      await own.stop();
    }

    const aborted = AbortSignal.abort();
    await expect(
      agent.client.copyOut('/dev/zero', path.join(dir, 'x'), { signal: aborted }),
    ).rejects.toMatchObject({
      code: 'AGENT_ABORTED',
    });
    await expect(
      agent.client.copyIn('/dev/zero', path.join(dir, 'y'), { signal: aborted }),
    ).rejects.toMatchObject({
      code: 'AGENT_ABORTED',
    });
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  }, 60_000);

  it('reports a host file that does not exist as the host’s own error', async () => {
    await expect(agent.client.copyIn(path.join(dir, 'nope'), path.join(dir, 'y'))).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'open',
    });
  });
});
