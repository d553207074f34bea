// The spliced READ reply, without /dev/fuse: send() splices into a pipe of the test's instead, and
// what comes out must be exactly the reply a copy would have made (fuse_out_header, then the data).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHostPipe, fsAt, fsConst as C } from '@vmm/hypervisor';
import { afterAll, describe, expect, it } from 'vitest';
import { SPLICE_MIN, SplicedReads } from './dev-fuse-splice';
import { NOT_DIRECT } from './direct-io';
import { IN_HEADER, OUT_HEADER } from './layout';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-splice-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The loop's request buffer, and a request in it whose unique is `unique`. */
const req = new Uint8Array(IN_HEADER.size);
function request(unique: bigint): void {
  new DataView(req.buffer).setBigUint64(IN_HEADER.fields.unique, unique, true);
}

/** Everything in the pipe's read end (non-blocking). */
function drainPipe(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const b = new Uint8Array(1 << 20);
  for (let n; (n = fsAt().read(fd, b, b.length)) > 0;) chunks.push(Buffer.from(b.subarray(0, n)));
  return Buffer.concat(chunks);
}

describe('SplicedReads: READ replies spliced from the file', () => {
  const data = crypto.randomBytes(300_000);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, data);
  const fd = fs.openSync(file, 'r');
  const out = createHostPipe();
  fsAt().fcntlInt(out.writeFd, C.F_SETPIPE_SZ, 1 << 20); // room for the largest reply here

  it('header then data, exactly as a copied reply; the size asked past the end is cut to the file', () => {
    const s = new SplicedReads(req, 128 * 1024);
    for (const [offset, size, unique] of [
      [0, 128 * 1024, 7n],
      [4096, 65536, 1n << 40n],
      [250_000, 128 * 1024, 9n], // 50 000 bytes left: cut to them
    ] as const) {
      request(unique);
      const n = s.read(fd, size, offset);
      const want = Math.min(size, data.length - offset);
      expect(n).toBe(want);
      expect(s.send(out.writeFd)).toBe(OUT_HEADER.size + want);
      const got = drainPipe(out.readFd);
      const h = new DataView(got.buffer, got.byteOffset);
      expect(h.getUint32(OUT_HEADER.fields.len, true)).toBe(OUT_HEADER.size + want);
      expect(h.getInt32(OUT_HEADER.fields.error, true)).toBe(0);
      expect(h.getBigUint64(OUT_HEADER.fields.unique, true)).toBe(unique);
      expect(got.subarray(OUT_HEADER.size).equals(data.subarray(offset, offset + want))).toBe(true);
    }
    expect(s.spliced).toBe(3);
    s.close();
  });

  it('leaves small reads, reads near or past the end and reads larger than its pipe to the copy', () => {
    const s = new SplicedReads(req, 64 * 1024);
    request(1n);
    expect(s.read(fd, SPLICE_MIN - 4096, 0)).toBe(NOT_DIRECT);
    expect(s.read(fd, 128 * 1024, data.length - 1000)).toBe(NOT_DIRECT);
    expect(s.read(fd, 128 * 1024, data.length + 4096)).toBe(NOT_DIRECT);
    expect(s.read(fd, 1 << 20, 0)).toBe(NOT_DIRECT); // past the pipe's 64 KiB and a bit
    expect(s.spliced + s.fellBack).toBe(0);
    s.close();
  });

  it('a file that cannot splice, or a reply the far end refuses: the pipe is left empty, the next reply whole', () => {
    const s = new SplicedReads(req, 128 * 1024);
    const wr = fs.openSync(path.join(dir, 'w'), 'w'); // write-only: splice from it fails (EBADF)
    request(3n);
    expect(s.read(wr, 64 * 1024, 0)).toBe(NOT_DIRECT); // its size is 0: not even tried
    fs.writeSync(wr, data);
    expect(s.read(wr, 64 * 1024, 0)).toBe(NOT_DIRECT);
    expect(s.fellBack).toBe(1);
    fs.closeSync(wr);
    expect(s.read(fd, 64 * 1024, 0)).toBe(64 * 1024);
    expect(s.send(out.readFd)).toBeLessThan(0); // a pipe's read end cannot be written
    request(4n);
    expect(s.read(fd, 40_000, 100)).toBe(40_000);
    expect(s.send(out.writeFd)).toBe(OUT_HEADER.size + 40_000);
    const got = drainPipe(out.readFd);
    expect(got.length).toBe(OUT_HEADER.size + 40_000);
    expect(new DataView(got.buffer, got.byteOffset).getBigUint64(OUT_HEADER.fields.unique, true)).toBe(4n);
    expect(got.subarray(OUT_HEADER.size).equals(data.subarray(100, 40_100))).toBe(true);
    s.close();
  });
});
