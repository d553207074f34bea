// FuseRequest.cstr: the names it hands the C calls start where the request holds them, in the
// buffer the request is in, when that buffer is reused for each request (as /dev/fuse's is) or
// changes between requests (as a virtqueue's may).
import { describe, expect, it } from 'vitest';
import { req } from '../../test/fuse/requests';
import * as L from './layout';
import { FuseRequest } from './request';

/** What C reads from a view: the bytes up to its first NUL. */
function cString(view: Uint8Array): string {
  return new TextDecoder().decode(view.subarray(0, view.indexOf(0)));
}

describe('FuseRequest.cstr', () => {
  it('gives each request its own name in a buffer reused for every request', () => {
    const r = new FuseRequest();
    const buf = new Uint8Array(4096);
    for (const name of ['first', 'b', 'a-longer-name']) {
      const bytes = req.lookup(1, name);
      buf.fill(0xff);
      buf.set(bytes);
      expect(r.parse(buf, bytes.length)).toBe(0);
      const end = r.name(r.arg);
      const view = r.cstr(r.arg, end);
      expect(view.buffer).toBe(buf.buffer);
      expect(view.byteOffset).toBe(buf.byteOffset + r.arg);
      expect(cString(view)).toBe(name);
    }
  });

  it('follows the request into a new buffer', () => {
    const r = new FuseRequest();
    const one = req.lookup(1, 'in-one');
    const two = req.lookup(1, 'in-two');
    r.parse(one, one.length);
    expect(cString(r.cstr(r.arg, r.name(r.arg)))).toBe('in-one');
    r.parse(two, two.length);
    const view = r.cstr(r.arg, r.name(r.arg));
    expect(view.buffer).toBe(two.buffer);
    expect(cString(view)).toBe('in-two');
  });

  it('gives a name that starts further in (a rename target) exactly, NUL included', () => {
    const r = new FuseRequest();
    const old = 'o'.repeat(200);
    const bytes = req.rename(1, old, 1, 'new-name');
    r.parse(bytes, bytes.length);
    const at = r.arg + L.RENAME_IN.size;
    const oldEnd = r.name(at);
    const newEnd = r.name(oldEnd + 1);
    expect(cString(r.cstr(at, oldEnd))).toBe(old);
    const view = r.cstr(oldEnd + 1, newEnd);
    expect(view.length).toBe('new-name'.length + 1);
    expect(cString(view)).toBe('new-name');
  });
});
