// protocol.ts against agent/protocol.h (every AGENT_* macro, compiled by gcc, has its mirror here with
// the same value, and every constant here has its macro), then the encoders and decoders.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentError } from './errors';
import { FrameReader } from './frame-reader';
import * as P from './protocol';

const HEADER = path.resolve(import.meta.dirname, '../../agent/protocol.h');

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** AGENT_* macros of protocol.h as gcc sees them, values parsed (numbers, bigints, strings). */
function headerMacros(): Map<string, number | bigint | string> {
  const out = execFileSync('gcc', ['-dM', '-E', '-x', 'c', HEADER], { encoding: 'utf8' });
  const macros = new Map<string, number | bigint | string>();
  for (const line of out.split('\n')) {
    const m = /^#define AGENT_(\w+) (.+)$/.exec(line);
    if (!m || m[1] === 'PROTOCOL_H') continue;
    const text = m[2]!.trim();
    if (text.startsWith('"')) {
      macros.set(m[1]!, JSON.parse(text) as string);
    } else {
      const big = BigInt(text.replace(/[uUlL]+$/, ''));
      macros.set(m[1]!, big > BigInt(Number.MAX_SAFE_INTEGER) ? big : Number(big));
    }
  }
  return macros;
}

describe('protocol.ts mirrors agent/protocol.h', () => {
  const gcc = hasGcc();
  if (!gcc) console.log('SKIPPED protocol.h comparison: no gcc on this host');
  it.skipIf(!gcc)('has every macro with the same value, and nothing more', () => {
    const macros = headerMacros();
    expect(macros.size).toBeGreaterThan(50);
    const mirrored = Object.entries(P).filter(([, v]) => ['number', 'bigint', 'string'].includes(typeof v));
    expect(Object.fromEntries(mirrored)).toEqual(Object.fromEntries(macros));
  });
});

describe('frames', () => {
  it('reassembles frames split anywhere, and keeps the bytes after the last one', () => {
    const frames = [
      Buffer.concat([P.encodeHeader(P.T_OK, 4), Buffer.from([1, 2, 3, 4])]),
      P.encodeHeader(P.T_FILE_END, 0),
      Buffer.concat([P.encodeHeader(P.T_STDOUT, 3), Buffer.from('abc')]),
    ];
    const all = Buffer.concat([...frames, Buffer.from('raw')]);
    for (let cut = 0; cut <= all.length; cut++) {
      for (const size of [1, 3, 7, 64]) {
        const r = new FrameReader('exec');
        const got: string[] = [];
        const feed = (b: Buffer): void => {
          for (let i = 0; i < b.length; i += size) {
            r.push(b.subarray(i, i + size));
            for (let f = r.next(); f && got.length < 3; f = got.length < 2 ? r.next() : null) {
              got.push(`${f.type}:${f.payload.toString('hex')}`);
            }
          }
        };
        feed(all.subarray(0, cut));
        feed(all.subarray(cut));
        while (got.length < 3) {
          const f = r.next();
          if (!f) break;
          got.push(`${f.type}:${f.payload.toString('hex')}`);
        }
        expect(got).toEqual(['32:01020304', '19:', '33:616263']);
        expect(r.rest().toString()).toBe('raw');
      }
    }
  });

  it('rejects unknown types, reserved bits and oversized lengths as soon as the header is in', () => {
    const bad = [
      Buffer.from([0x99, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from([P.T_OK, 1, 0, 0, 0, 0, 0, 0]),
      Buffer.from([P.T_OK, 0, 0, 1, 0, 0, 0, 0]),
      P.encodeHeader(P.T_STDOUT, P.MAX_PAYLOAD + 1),
    ];
    for (const h of bad) {
      const r = new FrameReader('exec');
      r.push(h);
      expect(() => r.next()).toThrow(AgentError);
    }
    const ok = new FrameReader('exec');
    ok.push(P.encodeHeader(P.T_STDOUT, P.MAX_PAYLOAD));
    expect(ok.next()).toBeNull(); // the largest allowed: waits for its payload
  });
});

describe('payloads', () => {
  it('lays out EXEC as protocol.h says', () => {
    const p = P.encodeExec({
      argv: ['ls', '-l'],
      env: ['A=1'],
      replaceEnv: true,
      cwd: '/tmp',
      timeoutMs: 1500,
    });
    expect(p.readUInt32LE(P.REQ_VERSION)).toBe(P.PROTOCOL_VERSION);
    expect(p.readUInt32LE(P.EXEC_TIMEOUT_MS)).toBe(1500);
    expect(p.readUInt32LE(P.EXEC_FLAGS)).toBe(P.EXEC_F_REPLACE_ENV);
    expect(p.readUInt32LE(P.EXEC_ARGC)).toBe(2);
    expect(p.readUInt32LE(P.EXEC_ENVC)).toBe(1);
    const strings: string[] = [];
    for (let off = P.EXEC_FIXED; off < p.length;) {
      const n = p.readUInt32LE(off);
      strings.push(p.subarray(off + 4, off + 4 + n).toString());
      off += 4 + n;
    }
    expect(strings).toEqual(['ls', '-l', 'A=1', '/tmp']);
  });

  it('lays out CONNECT and COPY_IN as protocol.h says', () => {
    const c = P.encodeConnect('example.org', 8080, 250);
    expect(c.readUInt16LE(P.CONNECT_PORT)).toBe(8080);
    expect(c.readUInt16LE(P.CONNECT_RESERVED)).toBe(0);
    expect(c.readUInt32LE(P.CONNECT_TIMEOUT_MS)).toBe(250);
    expect(c.readUInt32LE(P.CONNECT_FIXED)).toBe(11);
    const i = P.encodeCopyIn('/x', 0o755);
    expect(i.readUInt32LE(P.COPY_IN_MODE)).toBe(0o755);
    expect(i.subarray(P.COPY_IN_FIXED + 4).toString()).toBe('/x');
    expect(() => P.encodeCopyIn('/x', 0o10000)).toThrow(/permission mode/);
    expect(() =>
      P.encodeExec({ argv: ['a'], env: ['=x'], replaceEnv: false, cwd: '', timeoutMs: 0 }),
    ).toThrow(/NAME=value/);
  });

  it('decodes EXIT and ERROR, and refuses malformed ones', () => {
    const exit = Buffer.alloc(P.EXIT_SIZE);
    exit.writeUInt8(P.EXIT_SIGNAL, P.EXIT_HOW);
    exit.writeUInt8(1, P.EXIT_TIMED_OUT);
    exit.writeInt32LE(9, P.EXIT_VALUE);
    expect(P.decodeExit(exit)).toEqual({ code: null, signal: 9, timedOut: true });
    exit.writeUInt8(P.EXIT_CODE, P.EXIT_HOW);
    exit.writeUInt8(0, P.EXIT_TIMED_OUT);
    exit.writeInt32LE(3, P.EXIT_VALUE);
    expect(P.decodeExit(exit)).toEqual({ code: 3, signal: null, timedOut: false });
    exit.writeInt32LE(256, P.EXIT_VALUE);
    expect(() => P.decodeExit(exit)).toThrow(AgentError);
    expect(() => P.decodeExit(Buffer.alloc(7))).toThrow(AgentError);

    const err = Buffer.concat([Buffer.alloc(4), Buffer.from('no such file')]);
    err.writeInt32LE(2, P.ERROR_ERRNO);
    expect(P.decodeError('copyOut', err)).toEqual({ errno: 2, message: 'no such file' });
    expect(() => P.decodeError('copyOut', Buffer.alloc(3))).toThrow(AgentError);
    expect(() => P.decodeError('copyOut', Buffer.alloc(4 + P.MAX_MESSAGE + 1))).toThrow(AgentError);
  });
});
