import { describe, expect, it } from 'vitest';
import { UsageError } from '../args/errors';
import { parseForward, parseRestore, parseRunExtras, parseRunFlags } from './run-flags';
import type { VmConfig } from '@vmm/vmm';

const base = ['--kernel', '/k'];

describe('vmm run flags', () => {
  it('parses Cloud Hypervisor syntax into a VmConfig', () => {
    const c = parseRunFlags([
      '--kernel=/boot/vmlinux',
      '--initrd',
      '/i.cpio',
      '--cmdline',
      'console=ttyS0 a="b c"',
      '--cpus',
      'boot=3',
      '--memory',
      'size=3584M',
      '--serial',
      'file=/tmp/out.txt',
      '--no-reboot',
      '--host-quirks',
      'off',
    ]);
    expect(c).toMatchObject({
      kernel: '/boot/vmlinux',
      initrd: '/i.cpio',
      cmdline: 'console=ttyS0 a="b c"',
      cpus: { boot: 3 },
      memory: { size: 3584 * 2 ** 20 },
      serial: { mode: 'file', path: '/tmp/out.txt' },
      noReboot: true,
      hostQuirks: 'off',
    });
  });

  it('takes virtio-fs shares with --fs (repeatable)', () => {
    const c = parseRunFlags([
      ...base,
      '--fs',
      'tag=share,path=/srv,cache=always',
      '--fs',
      'tag=ro,path=/etc,readonly=on',
    ]);
    expect((c as VmConfig).shares).toEqual([
      { tag: 'share', path: '/srv', readonly: false, cache: 'always' },
      { tag: 'ro', path: '/etc', readonly: true },
    ]);
  });

  it('bounds a serial or console log file with max=SIZE', () => {
    const c = parseRunFlags([
      ...base,
      '--serial',
      'file=/tmp/s.log,max=10M',
      '--console',
      'file=/tmp/c.log,max=4K',
    ]);
    expect(c).toMatchObject({
      serial: { mode: 'file', path: '/tmp/s.log', max: 10 * 2 ** 20 },
      console: { mode: 'file', path: '/tmp/c.log', max: 4096 },
    });
  });

  it('--serial and --console null: the device with its output dropped', () => {
    const c = parseRunFlags([...base, '--serial', 'null', '--console', 'null']);
    expect(c).toMatchObject({ serial: { mode: 'null' }, console: { mode: 'null' } });
    expect(() => parseRunFlags([...base, '--console', 'nul'])).toThrow(
      /'nul' needs a value \(tty, off, null or key=value; keys: mode, file, max\)/,
    );
  });

  it('--seccomp true|false|log, true by default', () => {
    expect(parseRunFlags(base)).toMatchObject({ seccomp: 'on' });
    expect(parseRunFlags([...base, '--seccomp', 'false'])).toMatchObject({ seccomp: 'off' });
    expect(parseRunFlags([...base, '--seccomp=log'])).toMatchObject({ seccomp: 'log' });
  });

  it('--vsock cid=N[,socket=PATH][,agent=on], as Cloud Hypervisor writes it', () => {
    const c = parseRunFlags(['--kernel', 'k', '--vsock', 'cid=3,socket=/tmp/v.sock']) as VmConfig;
    expect(c.vsock).toEqual({ cid: 3, socket: '/tmp/v.sock', agent: false });
    expect((parseRunFlags(['--kernel', 'k', '--vsock', 'cid=7,agent=on']) as VmConfig).vsock).toEqual({
      cid: 7,
      agent: true,
    });
    expect(() => parseRunFlags(['--kernel', 'k', '--vsock', 'cid=2'])).toThrow(/cid=2 is not a guest CID/);
    expect(() => parseRunFlags(['--kernel', 'k', '--vsock', 'socket=/x'])).toThrow(/cid=N is required/);
    expect(() => parseRunFlags(['--kernel', 'k', '--vsock', 'cid=3,agent=yes'])).toThrow(/agent=yes/);
  });

  it('--socks5 HOST:PORT and --forward tcp:HOST:PORT-vsock:PORT need the agent', () => {
    const argv = ['--kernel', 'k', '--vsock', 'cid=3,agent=on', '--socks5', '127.0.0.1:1080'];
    const withForwards = [
      ...argv,
      '--forward',
      'tcp:127.0.0.1:8080-vsock:80',
      '--forward',
      'tcp:[::1]:9-vsock:9',
    ];
    expect(parseRunExtras(withForwards, parseRunFlags(withForwards) as VmConfig)).toEqual({
      socks5: '127.0.0.1:1080',
      forwards: [
        { listen: '127.0.0.1:8080', guestPort: 80 },
        { listen: '[::1]:9', guestPort: 9 },
      ],
    });
    const noAgent = ['--kernel', 'k', '--vsock', 'cid=3', '--socks5', '127.0.0.1:1080'];
    expect(() => parseRunExtras(noAgent, parseRunFlags(noAgent) as VmConfig)).toThrow(/agent=on/);
    expect(() => parseForward('tcp:127.0.0.1:8080-8080')).toThrow(/is not tcp:HOST:PORT-vsock:GUESTPORT/);
    const badSocks = [...argv.slice(0, 4), '--socks5', '1080'];
    expect(() => parseRunExtras(badSocks, parseRunFlags(badSocks) as VmConfig)).toThrow(/not HOST:PORT/);
  });

  it('has defaults: 1 vCPU, 512M, serial on the terminal', () => {
    const c = parseRunFlags(base);
    expect(c).toMatchObject({ cpus: { boot: 1 }, memory: { size: 512 * 2 ** 20 }, serial: { mode: 'tty' } });
    expect((c as VmConfig).cpus.nested).toBeUndefined();
  });

  it('--cpus nested=on lets the guest see VMX/SVM; nested=off is the default', () => {
    expect(parseRunFlags([...base, '--cpus', 'boot=2,nested=on'])).toMatchObject({
      cpus: { boot: 2, nested: true },
    });
    expect((parseRunFlags([...base, '--cpus', 'boot=2,nested=off']) as VmConfig).cpus).toEqual({ boot: 2 });
  });

  it.each([
    [[], /--kernel PATH is required/],
    [['--kernel'], /--kernel needs a value/],
    [[...base, '--bogus'], /unknown flag --bogus/],
    [[...base, '--cpus', 'boot=0'], /boot=0 is not a vCPU count/],
    [[...base, '--cpus', 'boot=two'], /boot=two is not a vCPU count/],
    [[...base, '--cpus', '2'], /'2' needs a value/],
    [[...base, '--cpus', 'max=2'], /unknown key 'max'/],
    [[...base, '--cpus', 'boot=1,nested=yes'], /nested=yes is not on or off/],
    [[...base, '--memory', 'size=lots'], /'lots' is not a size/],
    [[...base, '--memory', 'size=0'], /more than 0/],
    [[...base, '--memory', 'size=512M,size=1G'], /given twice/],
    [[...base, '--serial', 'pty'], /'pty' needs a value/],
    [[...base, '--serial', 'file='], /'file' needs a value/],
    [[...base, '--serial', 'tty,max=1M'], /max=SIZE bounds a file/],
    [[...base, '--seccomp', 'maybe'], /'maybe' is not true, false or log/],
    [[...base, '--serial', 'file=/o,max=lots'], /'lots' is not a size/],
    [[...base, '--host-quirks', 'maybe'], /not auto or off/],
    [[...base, '--no-reboot=yes'], /takes no value/],
    [[...base, '--kernel', '/k2'], /--kernel given twice/],
    [[...base, 'stray'], /unexpected argument 'stray'/],
    [[...base, '--disk', 'readonly=on'], /path=FILE is required/],
    [[...base, '--disk', 'path=/d,readonly=yes'], /readonly=yes is not on or off/],
    [[...base, '--disk', 'path=/d,discard=trim'], /discard=trim is not unmap or ignore/],
    [[...base, '--disk', 'path=/d,serial=123456789012345678901'], /longer than 20 bytes/],
    [[...base, '--disk', 'path=/d,cache=on'], /unknown key 'cache'/],
    [
      [...base, '--disk', 'path=/d,poll_us=-1'],
      /poll_us=-1 is not a whole number of microseconds from 0 to 100000/,
    ],
    [[...base, '--disk', 'path=/d,poll_us=1.5'], /poll_us=1.5 is not/],
    [[...base, '--disk', 'path=/d,poll_us=100001'], /poll_us=100001 is not/],
    [[...base, '--fs', 'path=/d'], /tag=NAME is required/],
    [[...base, '--fs', 'tag=s'], /path=DIR is required/],
    [[...base, '--fs', `tag=${'x'.repeat(37)},path=/d`], /not 1 to 36 bytes/],
    [[...base, '--fs', 'tag=s,path=/d,cache=sometimes'], /cache=sometimes is not never, auto or always/],
    [[...base, '--fs', 'tag=s,path=/d,readonly=yes'], /readonly=yes is not on or off/],
    [[...base, '--console', 'tty'], /cannot share the terminal/],
    [[...base, '--rng=1'], /takes no value/],
    [[...base, '--net', 'speed=fast'], /unknown key 'speed'/],
    [[...base, '--net', 'hostfwd=tcp:nonsense'], /--net: /],
    [[...base, '--net', 'host_loopback=yes'], /host_loopback=yes is not on or off/],
    [[...base, '--net', 'mtu=70000'], /576 to 65520/],
    [[...base, '--net', 'tap=tap0,hostfwd=tcp:127.0.0.1:8022-:22'], /NAT options/],
    [[...base, '--net', 'tap=tap0,deny=host'], /NAT options/],
    [[...base, '--net', 'deny=everything'], /not host, linklocal or an IPv4 network/],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(() => parseRunFlags(argv as string[])).toThrow(UsageError);
    expect(() => parseRunFlags(argv as string[])).toThrow(message);
  });

  it('takes repeatable disks, a console and rng', () => {
    const c = parseRunFlags([
      ...base,
      '--serial',
      'off',
      '--disk',
      'path=/a.img',
      '--disk',
      'path=/b.img,readonly=on,serial=disk-b',
      '--disk',
      'path=/c.img,poll_us=0',
      '--console',
      'tty',
      '--rng',
    ]);
    expect(c).toMatchObject({
      disks: [
        { path: '/a.img', readonly: false },
        { path: '/b.img', readonly: true, serial: 'disk-b' },
        { path: '/c.img', pollUs: 0 },
      ],
      console: { mode: 'tty' },
      rng: true,
    });
  });

  it('takes NAT interfaces with repeated hostfwd, and tap interfaces', () => {
    const c = parseRunFlags([
      ...base,
      '--net',
      'hostfwd=tcp:127.0.0.1:8022-:22,hostfwd=udp::5353-:53,host_loopback=on,dns=127.0.0.1:5300,mtu=65520,deny=host+linklocal+10.0.0.0/8',
      '--net',
      'tap=tap7,mac=52:54:00:00:00:07',
    ]);
    expect(c).toMatchObject({
      nets: [
        {
          hostForwards: [
            expect.objectContaining({ hostPort: 8022, guestPort: 22 }),
            expect.objectContaining({ guestPort: 53 }),
          ],
          hostLoopback: true,
          dns: { address: '127.0.0.1', port: 5300 },
          mtu: 65520,
          deny: { host: true, linkLocal: true, networks: [{ network: 0x0a000000, prefixLength: 8 }] },
        },
        { tap: 'tap7', mac: '52:54:00:00:00:07' },
      ],
    });
  });

  it('takes --net with no value as a NAT with every default, before another flag or last', () => {
    const nets = (argv: string[]) => (parseRunFlags(argv) as VmConfig).nets;
    expect(nets([...base, '--net', '--rng'])).toEqual([{}]);
    expect(nets([...base, '--rng', '--net'])).toEqual([{}]);
    expect(nets([...base, '--net', '--net', 'mtu=9000'])).toEqual([{}, { mtu: 9000 }]);
    expect(nets([...base, '--net='])).toEqual([{}]);
    // a flag that needs its value still says so when it is last
    expect(() => parseRunFlags([...base, '--disk'])).toThrow(/--disk needs a value/);
  });

  it('returns help for --help', () => {
    expect(parseRunFlags(['--help'])).toBe('help');
  });

  it("--restore source_url=...[,resume=on|off][,prefault=on|off], as Cloud Hypervisor's", () => {
    expect(parseRestore('source_url=file:///s', true)).toEqual({
      sourceDir: '/s',
      resume: true,
      prefault: false,
    });
    expect(parseRestore('source_url=file:///s,resume=off,prefault=on', true)).toEqual({
      sourceDir: '/s',
      resume: false,
      prefault: true,
    });
    expect(parseRestore('source_url=file:///s,prefault=off', false)).toEqual({
      sourceDir: '/s',
      resume: false,
      prefault: false,
    });
    for (const [text, message] of [
      ['source_url=file:///s,prefault=yes', /--restore: prefault=yes is not on or off/],
      ['source_url=file:///s,resume=1', /--restore: resume=1 is not on or off/],
      ['prefault=on', /source_url=file:\/\/\/DIR is required/],
      ['source_url=/s', /give a file:\/\/ URL/],
    ] as const) {
      expect(() => parseRestore(text, true)).toThrow(UsageError);
      expect(() => parseRestore(text, true)).toThrow(message);
    }
  });
});
