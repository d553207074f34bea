// Malformed input never takes the agent down: each bad connection is closed (after an ERROR with
// EPROTO where one can be sent) and the agent keeps serving the others. Ends with a bounded random
// run of mutated requests, as conventions.md asks of every parser of untrusted input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameReader, type Frame } from './frame-reader';
import {
  HEADER_SIZE,
  T_COPY_IN,
  T_COPY_OUT,
  T_ERROR,
  T_EXEC,
  T_STDIN,
  T_STDOUT,
  decodeError,
  encodeCopyOut,
  encodeExec,
  encodeHeader,
} from './protocol';
import { groupAlive, startAgent, type RunningAgent } from './test-support/agent-process';

let agent: RunningAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
});

interface Outcome {
  closed: boolean;
  frames: Frame[];
}

/** Sends raw bytes on a new connection (then ends it if asked) and collects what comes back until the
    agent closes the connection or `waitMs` passes. */
async function raw(bytes: Buffer, opts: { end?: boolean; waitMs?: number } = {}): Promise<Outcome> {
  const s = await agent.open();
  const reader = new FrameReader('agent');
  const frames: Frame[] = [];
  let broken = false;
  s.on('data', (c: Buffer) => {
    if (broken) return;
    reader.push(c);
    try {
      for (let f = reader.next(); f; f = reader.next()) frames.push(f);
    } catch {
      broken = true;
    }
  });
  s.on('error', () => {});
  const closed = new Promise<boolean>((resolve) => {
    s.once('end', () => resolve(true));
    s.once('close', () => resolve(true));
    setTimeout(() => resolve(false), opts.waitMs ?? 3000);
  });
  s.write(bytes);
  if (opts.end) s.end();
  const result = { closed: await closed, frames };
  s.destroy();
  return result;
}

function frame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeHeader(type, payload.length), payload]);
}

function protoError(o: Outcome): { errno: number; message: string } | undefined {
  const f = o.frames.find((x) => x.type === T_ERROR);
  return f ? decodeError('agent', f.payload) : undefined;
}

async function stillServing(): Promise<void> {
  const r = await agent.client.exec(['echo', 'alive']);
  expect(r.stdout.toString()).toBe('alive\n');
}

const EPROTO = 71;

describe('malformed input', () => {
  it('closes a connection that sends garbage', async () => {
    const o = await raw(Buffer.from('\xffGET / HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
    expect(o.closed).toBe(true);
    expect(protoError(o)?.errno).toBe(EPROTO);
    expect(protoError(o)?.message).toContain('unknown frame type');
    await stillServing();
  });

  it('closes a connection at once when a header announces an oversized length', async () => {
    const h = encodeHeader(T_EXEC, 0);
    h.writeUInt32LE(0xffffffff, 4);
    const o = await raw(h); // no payload follows, and the agent does not wait for one
    expect(o.closed).toBe(true);
    expect(protoError(o)?.message).toContain('over AGENT_MAX_PAYLOAD');
    const justOver = encodeHeader(T_EXEC, 0);
    justOver.writeUInt32LE(1024 * 1024 + 1, 4);
    expect((await raw(justOver)).closed).toBe(true);
    await stillServing();
  });

  it('closes a connection whose request is cut short', async () => {
    const full = frame(
      T_EXEC,
      encodeExec({ argv: ['true'], env: [], replaceEnv: false, cwd: '', timeoutMs: 0 }),
    );
    const o = await raw(full.subarray(0, full.length - 3), { end: true });
    expect(o.closed).toBe(true);
    expect(o.frames.every((f) => f.type === T_ERROR)).toBe(true);
    const headerOnly = await raw(full.subarray(0, 5), { end: true });
    expect(headerOnly.closed).toBe(true);
    expect((await raw(Buffer.alloc(0), { end: true })).closed).toBe(true); // nothing at all
    await stillServing();
  });

  it('rejects payloads that do not fit their layout', async () => {
    const exec = encodeExec({ argv: ['echo', 'a', 'b'], env: [], replaceEnv: false, cwd: '', timeoutMs: 0 });
    const moreArgs = Buffer.from(exec);
    moreArgs.writeUInt32LE(5, 12); // argc 5, three strings
    expect(protoError(await raw(frame(T_EXEC, moreArgs)))?.errno).toBe(EPROTO);
    const hugeArgc = Buffer.from(exec);
    hugeArgc.writeUInt32LE(0x7fffffff, 12);
    expect(protoError(await raw(frame(T_EXEC, hugeArgc)))?.message).toContain('argc');
    const longString = Buffer.from(exec);
    longString.writeUInt32LE(0xfffffff0, 20); // argv[0]'s length runs past the payload
    expect(protoError(await raw(frame(T_EXEC, longString)))?.errno).toBe(EPROTO);
    const trailing = Buffer.concat([encodeCopyOut('/etc/hostname'), Buffer.from([0])]);
    expect(protoError(await raw(frame(T_COPY_OUT, trailing)))?.message).toContain('trailing bytes');
    const withNul = encodeCopyOut('/etc/hostname');
    withNul[withNul.length - 1] = 0;
    expect(protoError(await raw(frame(T_COPY_OUT, withNul)))?.message).toContain('NUL');
    const reserved = frame(T_COPY_OUT, encodeCopyOut('/etc/hostname'));
    reserved[1] = 1;
    expect(protoError(await raw(reserved))?.message).toContain('reserved');
    await stillServing();
  });

  it('answers another protocol version with EPROTONOSUPPORT, and a non-request first frame with EPROTO', async () => {
    const v2 = encodeCopyOut('/etc/hostname');
    v2.writeUInt32LE(2, 0);
    const o = await raw(frame(T_COPY_OUT, v2));
    expect(protoError(o)?.errno).toBe(93);
    const notRequest = await raw(frame(T_STDIN, Buffer.from('hi')));
    expect(protoError(notRequest)?.message).toContain('first frame must be');
    await stillServing();
  });

  it('ends an exec whose client breaks the protocol, killing its process group', async () => {
    const req = frame(
      T_EXEC,
      encodeExec({
        argv: ['sh', '-c', 'echo $$; sleep 30'],
        env: [],
        replaceEnv: false,
        cwd: '',
        timeoutMs: 0,
      }),
    );
    const s = await agent.open();
    s.on('error', () => {});
    const reader = new FrameReader('agent');
    const frames: Frame[] = [];
    const closed = new Promise<void>((resolve) => s.once('end', () => resolve()));
    let sentBad = false;
    s.on('data', (c: Buffer) => {
      reader.push(c);
      for (let f = reader.next(); f; f = reader.next()) frames.push(f);
      if (!sentBad && frames.some((f) => f.type === T_STDOUT)) {
        sentBad = true;
        s.write(frame(T_COPY_IN, Buffer.alloc(8))); // not allowed during EXEC
      }
    });
    s.write(req);
    await closed;
    const pid = Number(
      frames
        .find((f) => f.type === T_STDOUT)!
        .payload.toString()
        .trim(),
    );
    expect(frames.at(-1)?.type).toBe(T_ERROR);
    const t0 = Date.now();
    while (groupAlive(pid) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(groupAlive(pid)).toBe(false);
    await stillServing();
  });

  it('survives a bounded run of random and mutated requests', async () => {
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    // Only requests that are harmless whatever a mutation makes of them: a program and a file that
    // do not exist (COPY_IN, which creates files, and CONNECT, which reaches services, stay out).
    const bases = [
      frame(
        T_EXEC,
        encodeExec({
          argv: ['/nonexistent/vmm-agent-fuzz', 'x'],
          env: ['A=b'],
          replaceEnv: false,
          cwd: '/nonexistent',
          timeoutMs: 100,
        }),
      ),
      frame(T_COPY_OUT, encodeCopyOut('/nonexistent/vmm-agent-fuzz')),
    ];
    const end = Date.now() + 4000;
    let runs = 0;
    while (Date.now() < end) {
      const batch: Promise<Outcome>[] = [];
      for (let k = 0; k < 16; k++) {
        const base = bases[rand(bases.length)]!;
        let input: Buffer;
        if (rand(4) === 0) {
          input = Buffer.alloc(1 + rand(64));
          for (let i = 0; i < input.length; i++) input[i] = rand(256);
        } else {
          input = Buffer.from(base);
          for (let m = 1 + rand(4); m > 0; m--) {
            const at = rand(input.length);
            input[at] = rand(3) === 0 ? [0, 0xff, 0x7f, 0x80][rand(4)]! : rand(256);
          }
          if (rand(3) === 0) input = input.subarray(0, rand(input.length));
          else if (rand(5) === 0 && input.length > HEADER_SIZE) input.writeUInt32LE(rand(0x200000), 4);
        }
        batch.push(raw(input, { end: true, waitMs: 5000 }));
      }
      const outcomes = await Promise.all(batch);
      for (const o of outcomes) expect(o.closed).toBe(true);
      runs += batch.length;
    }
    expect(runs).toBeGreaterThan(0);
    process.kill(agent.pid, 0); // the agent is still there
    await stillServing();
  }, 30_000);
});
