// Splicing without /dev/fuse: a READ reply is sent into a pipe of the test's instead, and what
// comes out must be exactly the reply a copy would have made (fuse_out_header, then the data);
// requests are read from a pipe the test fills as the kernel lays them out.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHostPipe, fsAt, fsConst as C } from '@vmm/hypervisor';
import { afterAll, describe, expect, it } from 'vitest';
import { SPLICE_MIN, FuseSplice } from './dev-fuse-splice';
import { NOT_DIRECT } from './direct-io';
import { FUSE_LOOKUP, FUSE_WRITE, IN_HEADER, OUT_HEADER, WRITE_HEAD, WRITE_IN } from './layout';

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

describe('FuseSplice: READ replies spliced from the file', () => {
  const data = crypto.randomBytes(300_000);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, data);
  const fd = fs.openSync(file, 'r');
  const out = createHostPipe();
  fsAt().fcntlInt(out.writeFd, C.F_SETPIPE_SZ, 1 << 20); // room for the largest reply here

  it('header then data, exactly as a copied reply; the size asked past the end is cut to the file', () => {
    const s = new FuseSplice(req, 128 * 1024);
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
    const s = new FuseSplice(req, 64 * 1024);
    request(1n);
    expect(s.read(fd, SPLICE_MIN - 4096, 0)).toBe(NOT_DIRECT);
    expect(s.read(fd, 128 * 1024, data.length - 1000)).toBe(NOT_DIRECT);
    expect(s.read(fd, 128 * 1024, data.length + 4096)).toBe(NOT_DIRECT);
    expect(s.read(fd, 1 << 20, 0)).toBe(NOT_DIRECT); // past the pipe's 64 KiB and a bit
    expect(s.spliced + s.fellBack).toBe(0);
    s.close();
  });

  it('a file that cannot splice, or a reply the far end refuses: the pipe is left empty, the next reply whole', () => {
    const s = new FuseSplice(req, 128 * 1024);
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

  it('requests through the pipe: a WRITE leaves its data there for write(), anything else comes whole', () => {
    const big = new Uint8Array(256 * 1024);
    const s = new FuseSplice(big, 128 * 1024);
    expect(s.requestsFit).toBe(true);
    const dev = createHostPipe(); // stands in for /dev/fuse: splice reads a pipe as well
    fsAt().fcntlInt(dev.writeFd, C.F_SETPIPE_SZ, 1 << 20);
    const head = WRITE_HEAD;
    const writeRequest = (unique: number, offset: number, payload: Uint8Array) => {
      const b = Buffer.alloc(head + payload.length);
      b.writeUInt32LE(b.length, IN_HEADER.fields.len);
      b.writeUInt32LE(FUSE_WRITE, IN_HEADER.fields.opcode);
      b.writeBigUInt64LE(BigInt(unique), IN_HEADER.fields.unique);
      b.writeBigUInt64LE(BigInt(offset), IN_HEADER.size + WRITE_IN.fields.offset);
      b.writeUInt32LE(payload.length, IN_HEADER.size + WRITE_IN.fields.size);
      b.set(payload, head);
      expect(fsAt().write(dev.writeFd, b, b.length)).toBe(b.length);
      return b.length;
    };
    const out = path.join(dir, 'written');
    const wfd = fs.openSync(out, 'w+');
    const payload = data.subarray(0, 100_000);
    const len = writeRequest(5, 4096, payload);
    expect(s.readRequest(dev.readFd)).toBe(len);
    expect(s.writeData).toBe(true);
    expect(new DataView(big.buffer).getUint32(IN_HEADER.fields.opcode, true)).toBe(FUSE_WRITE);
    expect(s.write(wfd, head, payload.length, 4096)).toBe(payload.length);
    expect(s.endRequest(len)).toBe(true); // a big WRITE: the next request through the pipe too
    expect(fs.readFileSync(out).subarray(4096).equals(payload)).toBe(true);
    // A WRITE the server refuses leaves its data in the pipe: endRequest() drains it, and the next
    // request (a LOOKUP with its name) arrives whole.
    const len2 = writeRequest(6, 0, payload);
    expect(s.readRequest(dev.readFd)).toBe(len2);
    s.endRequest(len2);
    expect(s.writeData).toBe(false);
    const name = Buffer.from('a-name\0');
    const lookup = Buffer.alloc(IN_HEADER.size + name.length);
    lookup.writeUInt32LE(lookup.length, IN_HEADER.fields.len);
    lookup.writeUInt32LE(FUSE_LOOKUP, IN_HEADER.fields.opcode);
    lookup.set(name, IN_HEADER.size);
    fsAt().write(dev.writeFd, lookup, lookup.length);
    expect(s.readRequest(dev.readFd)).toBe(lookup.length);
    expect(s.writeData).toBe(false);
    expect(Buffer.from(big.subarray(0, lookup.length)).equals(lookup)).toBe(true);
    expect(s.write(wfd, head, 1, 0)).toBeLessThan(0); // no WRITE data in the pipe now
    expect(s.endRequest(lookup.length)).toBe(false); // anything else: back to read(2)
    expect(s.splicedWrites).toBe(1);
    fs.closeSync(wfd);
    s.close();
  });
});
