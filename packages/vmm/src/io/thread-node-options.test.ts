import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  joinNodeOptions,
  splitNodeOptions,
  threadNodeOptions,
  withoutPreloads,
  withoutRefused,
} from './thread-node-options';

describe('Node options for our threads', () => {
  it('drops every preload, with its value given apart or after =, and keeps the rest in order', () => {
    expect(
      withoutPreloads([
        '--max-old-space-size=512',
        '--require',
        '/a/preflight.cjs',
        '-r',
        'x',
        '--import=tsx',
        '--enable-source-maps',
        '--loader',
        'l.mjs',
        '--experimental-loader=m.mjs',
        '--no-warnings',
      ]),
    ).toEqual(['--max-old-space-size=512', '--enable-source-maps', '--no-warnings']);
    expect(withoutPreloads(['--require'])).toEqual([]); // a value missing: nothing left to run
  });

  it('splits NODE_OPTIONS as Node does and joins it back to the same tokens', () => {
    const s = '--require "/my dir/a.cjs"  --max-old-space-size=64 --title="a \\"b\\"" ""';
    const tokens = splitNodeOptions(s);
    expect(tokens).toEqual(['--require', '/my dir/a.cjs', '--max-old-space-size=64', '--title=a "b"', '']);
    expect(splitNodeOptions(joinNodeOptions(tokens))).toEqual(tokens);
    expect(joinNodeOptions(withoutPreloads(tokens))).toBe('--max-old-space-size=64 "--title=a \\"b\\"" ""');
    expect(splitNodeOptions('   ')).toEqual([]);
  });

  it('gives an environment of its own only when NODE_OPTIONS loses a preload', () => {
    const saved = process.env.NODE_OPTIONS;
    try {
      process.env.NODE_OPTIONS = '--max-old-space-size=64';
      expect(threadNodeOptions().env).toBeUndefined(); // Node copies the environment itself
      process.env.NODE_OPTIONS = '--import "/a b/x.mjs" --max-old-space-size=64';
      const { env } = threadNodeOptions();
      expect(env?.NODE_OPTIONS).toBe('--max-old-space-size=64');
      expect(env?.PATH).toBe(process.env.PATH);
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  });

  it('leaves execArgv to Node (inherited) unless it loses a preload', () => {
    const saved = process.execArgv;
    try {
      process.execArgv = ['--max-old-space-size=256', '--title=x'];
      expect(threadNodeOptions().execArgv).toBeUndefined();
      process.execArgv = ['--max-old-space-size=256', '--require', '/a/p.cjs', '--enable-source-maps'];
      expect(threadNodeOptions().execArgv).toEqual(['--max-old-space-size=256', '--enable-source-maps']);
    } finally {
      process.execArgv = saved;
    }
  });

  it("drops what Node's own refusal of a worker's execArgv names, and Node takes the rest", async () => {
    const execArgv = ['--max-old-space-size=256', '--enable-source-maps', '--title=x', '--no-warnings'];
    let refusal: unknown;
    try {
      new Worker('0', { eval: true, execArgv });
    } catch (e) {
      refusal = e;
    }
    const kept = withoutRefused(execArgv, refusal);
    expect(kept).toEqual(['--enable-source-maps', '--no-warnings']);
    const w = new Worker('require("node:worker_threads").parentPort.postMessage(process.execArgv)', {
      eval: true,
      execArgv: kept,
    });
    expect(await new Promise((r) => w.once('message', r))).toEqual(kept);
    await w.terminate();
    expect(withoutRefused(execArgv, new Error('another failure'))).toBeUndefined();
  });
});
