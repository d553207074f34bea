import { describe, expect, it } from 'vitest';
import { defaultConfig, type VmConfig } from './config';
import { withAbsolutePaths } from './config-paths';

describe('withAbsolutePaths', () => {
  it('resolves every host path against the directory given, and leaves absolute ones and the rest alone', () => {
    const config: VmConfig = {
      ...defaultConfig,
      kernel: 'k/vmlinux',
      initrd: '../i.cpio',
      serial: { mode: 'file', path: 'out/serial.log', max: 100 },
      console: { mode: 'file', path: '/var/log/hvc0' },
      disks: [{ path: 'root.img', readonly: true, serial: 's' }, { path: '/abs/data.img' }],
      shares: [{ tag: 'src', path: '.', cache: 'never' }],
      vsock: { cid: 3, socket: 'v.sock', agent: true },
      nets: [{ mtu: 9000 }],
    };
    expect(withAbsolutePaths(config, '/w/d')).toEqual({
      ...config,
      kernel: '/w/d/k/vmlinux',
      initrd: '/w/i.cpio',
      serial: { mode: 'file', path: '/w/d/out/serial.log', max: 100 },
      console: { mode: 'file', path: '/var/log/hvc0' },
      disks: [{ path: '/w/d/root.img', readonly: true, serial: 's' }, { path: '/abs/data.img' }],
      shares: [{ tag: 'src', path: '/w/d', cache: 'never' }],
      vsock: { cid: 3, socket: '/w/d/v.sock', agent: true },
    });
    // The caller's object is not changed, and optional parts stay absent.
    expect(config.kernel).toBe('k/vmlinux');
    const bare = withAbsolutePaths({ ...defaultConfig, kernel: '/k' }, '/w');
    expect(bare).toEqual({ ...defaultConfig, kernel: '/k' });
    expect(Object.keys(bare)).not.toContain('disks');
  });
});
