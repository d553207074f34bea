// Tier 1: parseSyncTrace on a real strace log of a real process that does what a monitor does on
// a FLUSH (writes an image from libuv's pool, fdatasyncs it, then writes console bytes one at a
// time) and is then killed with SIGKILL, as blk-durability.test.ts kills `vmm run`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fdToken, hasStrace, parseSyncTrace, straceSyncArgs, traceePid } from './sync-trace';

if (!hasStrace) console.warn("SKIP (no strace: install Debian's strace): the strace log parser");

/** Console bytes one write(2) each (like the monitor's UART), pwritev + fdatasync on the pool. */
const CHILD = `
const fs = require('node:fs');
const [img] = process.argv.slice(1);
const say = (s) => { for (const c of s) fs.writeSync(1, c); };
say('BEFORE "x"\\n');
const fd = fs.openSync(img, 'r+');
fs.writev(fd, [Buffer.alloc(4096, 1), Buffer.alloc(4096, 2)], 512, (e) => {
  if (e) throw e;
  fs.fdatasync(fd, (e2) => {
    if (e2) throw e2;
    say('SYNCED\\n');
    setInterval(() => {}, 1000);
  });
});
`;

describe.skipIf(!hasStrace)('parseSyncTrace on a real strace log', () => {
  let work = '';
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-sync-trace-'));
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('orders image writes, the fdatasync and console bytes; the tracee is the one killed', async () => {
    const img = path.join(work, 'disk.img');
    fs.writeFileSync(img, Buffer.alloc(65536));
    const log = path.join(work, 'strace.log');
    const strace = spawn('strace', [...straceSyncArgs(log), '--', process.execPath, '-e', CHILD, img], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    strace.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => strace.on('exit', r));
    const t0 = Date.now();
    while (!out.includes('SYNCED\n') && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 10));
    const tracee = traceePid(strace.pid!);
    expect(tracee).toBeDefined();
    const consoleFd = fdToken(tracee!, 1);
    expect(consoleFd).toMatch(/^1<(pipe|socket):\[\d+\]>$/); // node gives stdio a socketpair
    process.kill(tracee!, 'SIGKILL');
    await exited;

    const t = parseSyncTrace(fs.readFileSync(log, 'utf8'), fs.realpathSync(img), consoleFd);
    expect(t.console).toBe('BEFORE "x"\nSYNCED\n');
    expect(t.syncs).toHaveLength(1);
    expect(t.syncs[0]).toEqual({
      call: 'fdatasync',
      ret: 0,
      imageBytesBefore: 8192,
      consoleAt: 'BEFORE "x"\n'.length,
    });
    expect(t.imageBytes).toBe(8192);
    expect(t.console.indexOf('SYNCED')).toBeGreaterThanOrEqual(t.syncs[0]!.consoleAt);
  });

  it('parses unfinished/resumed pairs and error returns', () => {
    const log = [
      '10 pwritev(5</i.img>, [{iov_base="\\1\\1", iov_len=4096}], 1, 512 <unfinished ...>',
      '11 write(1<pipe:[7]>, "a", 1 <unfinished ...>',
      '10 <... pwritev resumed>) = 4096',
      '11 <... write resumed>) = 1',
      '12 fdatasync(5</i.img> <unfinished ...>',
      '11 write(1<pipe:[7]>, "\\n", 1) = 1',
      '12 <... fdatasync resumed>) = 0',
      '11 write(1<pipe:[7]>, "\\x62", 1) = 1',
      '12 fsync(5</i.img>) = -1 EIO (Input/output error)',
      '12 write(6</other.img>, "zz", 2) = 2',
      '13 write(1<pipe:[8]>, "not the console", 15) = 15',
      '12 pwrite64(5</i.img>, "x) = 7 y", 8, 0) = 8',
      String.raw`11 writev(1<pipe:[7]>, [{iov_base="c", iov_len=1}, {iov_base="\"d", iov_len=2}], 2) = 3`,
      '11 write(1<pipe:[7]>, "e", 1) = ?',
      '',
    ].join('\n');
    const t = parseSyncTrace(log, '/i.img', '1<pipe:[7]>');
    expect(t.console).toBe('a\nbc"d'); // the write cut short by the kill (`= ?`) is not counted
    expect(t.imageBytes).toBe(4096 + 8);
    expect(t.syncs).toEqual([
      { call: 'fdatasync', ret: 0, imageBytesBefore: 4096, consoleAt: 2 },
      { call: 'fsync', ret: -1, imageBytesBefore: 4096, consoleAt: 3 },
    ]);
  });
});
