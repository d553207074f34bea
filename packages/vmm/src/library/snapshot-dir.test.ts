import { describe, expect, it } from 'vitest';
import { snapshotDirOf } from './snapshot-dir';

describe('the directory a library call names for a snapshot', () => {
  it('is a path as given, or the path of a file:// URL', () => {
    expect(snapshotDirOf('vm.snapshot', '/var/snap')).toBe('/var/snap');
    expect(snapshotDirOf('vm.snapshot', 'rel/snap')).toBe('rel/snap');
    expect(snapshotDirOf('vm.snapshot', 'file:///var/my%20snap')).toBe('/var/my snap');
  });

  it.each([
    ['http://host/x', /a snapshot is a directory on this host/],
    ['s3://bucket/x', /a snapshot is a directory on this host/],
    ['file://host/x', /give a file:\/\/ URL of a directory/],
    ['file:///x?y', /give a file:\/\/ URL of a directory/],
    ['file:x', /give a file:\/\/ URL of a directory/],
    ['', /give a directory: a path, or a file:\/\/ URL/],
    [5, /vm\.snapshot\(5\): give a directory/],
    ['a\0b', /NUL byte/],
  ])('refuses %j with ESNAPSHOTDIR', (where, message) => {
    expect(() => snapshotDirOf('vm.snapshot', where)).toThrow(message);
  });
});
