// The builder and Vm.start check what a caller gives them before anything is opened: a misspelt
// option, a value of the wrong type or a config object of the wrong shape is one VmmError naming
// the call and the field (found by hand: before, `net({ hostloopback: true })` was ignored, a
// number as a disk path failed inside Node's fs, and `cmdline(5)` threw a TypeError).
import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../config';
import { VmBuilder } from './builder';
import { Vm } from './vm';

const b = () => new VmBuilder().kernel('/k');
// Typed loosely on purpose: these are the calls a JavaScript caller (or a cast) can make.
type Loose = Record<string, (...args: unknown[]) => unknown>;
const call =
  (name: string, ...args: unknown[]) =>
  () =>
    (b() as unknown as Loose)[name]!(...args);

describe('Vmm.builder() options', () => {
  it.each([
    ['kernel', [null], /kernel\(null\): give the file's path/],
    ['kernel', [''], /kernel\(""\): give the file's path/],
    ['initrd', [42], /initrd\(42\): give the file's path/],
    ['cmdline', [5], /cmdline\(5\): give the command line as a string/],
    ['disk', [{ path: 123 }], /disk\(\): path must be a string \(got 123\)/],
    ['disk', [{}], /disk\(\): path must be a string \(got undefined\)/],
    [
      'disk',
      [{ path: '/d', readOnly: true }],
      /disk\(\): unknown option 'readOnly' \(the options: path, readonly, serial, discard, pollUs\)/,
    ],
    ['disk', [{ path: '/d', pollUs: -1 }], /disk\(\): pollUs must be a whole number from 0 to 100000/],
    [
      'disk',
      [{ path: '/d', discard: 'trim' }],
      /disk\(\): discard must be 'unmap' or 'ignore' \(got "trim"\)/,
    ],
    ['disk', ['/d'], /disk\("\/d"\): give an object \{ path, readonly/],
    ['net', [{ hostloopback: true }], /net\(\): unknown option 'hostloopback'/],
    ['net', [{ mtu: 100 }], /net\(\): mtu must be a whole number from 576 to 65520/],
    ['share', [{ tag: 'x' }], /share\(\): path must be a string/],
    ['share', [{ tag: 'x', path: '/s', cache: 'sometimes' }], /cache must be 'never' or 'auto' or 'always'/],
    ['vsock', [{ cid: 3, agnet: false }], /vsock\(\): unknown option 'agnet'/],
    ['console', [{ device: 'nope' }], /console\(\): device must be 'serial' or 'virtio' \(got "nope"\)/],
    ['cpus', ['2'], /cpus\("2"\): give a whole number from 1 to 254/],
    ['cpus', [2, { nsted: true }], /cpus\(\): unknown option 'nsted'/],
    ['seccomp', [true], /seccomp\(true\): give 'on', 'log' or 'off'/],
    ['hostQuirks', ['on'], /hostQuirks\("on"\): give 'auto' or 'off'/],
  ])('%s(%j) is refused where it is called', (name, args, message) => {
    expect(call(name, ...args)).toThrow(message);
    try {
      call(name, ...args)();
    } catch (e) {
      expect((e as { code: string }).code).toMatch(/^E(OPTION|CPUS)$/);
    }
  });

  it('takes what it documents', () => {
    const config = b()
      .initrd('/i')
      .cmdline('console=ttyS0')
      .cpus(2, { nested: false })
      .disk({ path: '/d', readonly: true, serial: 's', discard: 'ignore', pollUs: 0 })
      .net({ hostLoopback: true, mtu: 1500 })
      .share({ tag: 't', path: '/s', readonly: true, cache: 'never' })
      .vsock({ cid: 3, agent: false })
      .console({ device: 'virtio', capture: true })
      .seccomp('log')
      .hostQuirks('off')
      .build();
    expect(config.disks).toEqual([{ path: '/d', readonly: true, serial: 's', discard: 'ignore', pollUs: 0 }]);
    expect(config.console).toEqual({ mode: 'capture' });
  });

  it('console({ capture: false }) keeps the device and drops its output', () => {
    expect(b().console({ device: 'virtio', capture: false }).build().console).toEqual({ mode: 'null' });
    expect(b().console({ capture: false }).build().serial).toEqual({ mode: 'null' });
    expect(b().build().console).toBeUndefined();
  });
});

describe('Vm.start(config) with a config built by hand', () => {
  const good = new VmBuilder().kernel('/k').console().build();
  it.each([
    ['a disk path that is a number', { disks: [{ path: 5 }] }, /disks\[0\]\.path must be a string/],
    [
      'a second net with a bad MTU',
      { nets: [{}, { mtu: 9 }] },
      /nets\[1\]\.mtu must be a whole number from 576/,
    ],
    ['cpus as a number', { cpus: 2 }, /cpus must be an object \{ boot, nested \}/],
    ['serial as a word', { serial: 'tty' }, /serial must be \{ mode: 'tty' \}/],
    ['memory as a string', { memory: { size: '1G' } }, /memory must be an object \{ size \}/],
  ])('%s: ECONFIG naming the field, before anything is opened', async (_what, patch, message) => {
    const config = { ...good, ...patch } as unknown as VmConfig;
    await expect(Vm.start(config)).rejects.toMatchObject({
      code: 'ECONFIG',
      message: expect.stringMatching(message),
    });
  });

  it('a RAM size the machine does not take is said as such', async () => {
    await expect(Vm.start({ ...good, memory: { size: 1000 } })).rejects.toMatchObject({
      code: 'EMEMSIZE',
      message: expect.stringMatching(/not a whole number of 4 KiB pages/),
    });
  });
});
