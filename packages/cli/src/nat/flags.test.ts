import { describe, expect, it } from 'vitest';
import { parseNatArgs } from './flags';

describe('vmm nat flags', () => {
  it('parses a full command line', () => {
    const o = parseNatArgs([
      '--netns',
      '/var/run/netns/x',
      '--tap',
      'tap1',
      '--mtu=65520',
      '--configure',
      '--hostfwd',
      'tcp:127.0.0.1:8022-:22',
      '--hostfwd',
      'udp::5353-:53',
      '--host-loopback',
      '--dns',
      '127.0.0.1:5353',
      '--deny',
      'host+169.254.0.0/16',
    ]);
    expect(o.netns).toBe('/var/run/netns/x');
    expect(o.tap).toBe('tap1');
    expect(o.configure).toBe(true);
    expect(o.config.mtu).toBe(65520);
    expect(o.config.hostLoopback).toBe(true);
    expect(o.config.hostForwards).toHaveLength(2);
    expect(o.config.dnsUpstream).toEqual({ address: '127.0.0.1', port: 5353 });
    expect(o.config.deny).toEqual({
      host: true,
      linkLocal: false,
      networks: [{ network: 0xa9fe0000, prefixLength: 16 }],
    });
  });
  it('rejects bad flags with a message that says what to write', () => {
    expect(() => parseNatArgs([])).toThrow(/needs --netns/);
    expect(() => parseNatArgs(['--netns', '1', '--mtu', '100'])).toThrow(/576 to 65520/);
    expect(() => parseNatArgs(['--netns', '1', '--mtu', 'big'])).toThrow(/out of range/);
    expect(() => parseNatArgs(['--netns', '1', '--tap', 'a-name-far-too-long'])).toThrow(/1 to 15/);
    expect(() => parseNatArgs(['--netns', '1', '--hostfwd', 'tcp:22'])).toThrow(/bad port forward/);
    expect(() => parseNatArgs(['--netns', '1', '--dns', 'x'])).toThrow(/IP:PORT/);
    expect(() => parseNatArgs(['--netns', '1', '--bogus'])).toThrow(/unknown flag --bogus/);
    expect(() => parseNatArgs(['--netns', '1', '--deny', 'all'])).toThrow(/not host, linklocal/);
    expect(() => parseNatArgs(['--netns', '1', 'extra'])).toThrow(/unexpected argument/);
  });
});
