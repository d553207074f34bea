// The real `vmm` process: every user error is one line on stderr and a non-zero exit code, and
// what can be checked without /dev/kvm is checked before it is opened.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probe } from '@vmm/hypervisor';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../test-vms/src/guests/build';

const root = path.resolve(import.meta.dirname, '../../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-cli-'));
const vmmWith = (env: Record<string, string>, ...args: string[]) => {
  const r = spawnSync('node', ['--import', 'tsx', path.join(root, 'packages/cli/src/bin.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
};
const vmm = (...args: string[]) => vmmWith({}, ...args);
const oneLine = (s: string) => s.trim().split('\n').length === 1;
/** A named pipe nobody writes to: opening it for reading without O_NONBLOCK would wait forever. */
const fifo = (name: string) => {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) execFileSync('mkfifo', [f]);
  return f;
};

describe('vmm command-line errors', () => {
  let guest: string;
  beforeAll(async () => {
    guest = (await buildGuests())['pvh-info']!;
  }, 300_000);

  it('--help documents every flag of vmm run', () => {
    const r = vmm('run', '--help');
    expect(r.code).toBe(0);
    for (const f of [
      '--kernel',
      '--initrd',
      '--cmdline',
      '--cpus',
      '--memory',
      '--serial',
      '--no-reboot',
      '--host-quirks',
      '--disk',
      '--console',
      '--rng',
    ]) {
      expect(r.out).toContain(f);
    }
  });

  it.each([
    [['run', '--kernel', '/k', '--frobnicate'], /unknown flag --frobnicate/],
    [['run', '--kernel', '/k', '--cpus', 'boot=0'], /boot=0 is not a vCPU count/],
    [['run', '--kernel', '/k', '--memory', 'size=12Q'], /is not a size/],
    [['run'], /--kernel PATH is required/],
    [['launch'], /unknown command 'launch'/],
  ])('bad command line %j: exit 2, one line', (args, message) => {
    const r = vmm(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(oneLine(r.err)).toBe(true);
  });

  it.each([
    ['a missing kernel', () => ['--kernel', path.join(dir, 'nope')], /kernel .*nope does not exist/],
    ['a directory as kernel', () => ['--kernel', dir], /is a directory/],
    [
      'a file that is no kernel',
      () => {
        const f = path.join(dir, 'notes.txt');
        fs.writeFileSync(f, 'just some text, not a kernel\n'.repeat(100));
        return ['--kernel', f];
      },
      /not a format we can boot/,
    ],
    ['memory too small', () => ['--kernel', guest, '--memory', 'size=1M'], /memory|RAM/i],
    [
      'an initrd that does not fit',
      () => {
        const f = path.join(dir, 'big.initrd');
        fs.closeSync(fs.openSync(f, 'w'));
        fs.truncateSync(f, 200 * 2 ** 20); // sparse: 200 MiB for a 128 MiB VM
        return ['--kernel', guest, '--initrd', f, '--memory', 'size=128M'];
      },
      /initrd/i,
    ],
    [
      'a missing disk image',
      () => ['--kernel', guest, '--disk', `path=${path.join(dir, 'no.img')}`],
      /no\.img/,
    ],
    [
      'a FIFO as kernel (refused at once, not waited on)',
      () => ['--kernel', fifo('kernel.fifo')],
      /kernel .*kernel\.fifo is a FIFO, not a regular file/,
    ],
    [
      'a FIFO as a read-only disk',
      () => ['--kernel', guest, '--disk', `path=${fifo('disk.fifo')},readonly=on`],
      /disk\.fifo is a FIFO, not a regular file or a block device/,
    ],
    [
      'one disk image given twice, writable (two writers would corrupt it)',
      () => {
        const f = path.join(dir, 'twice.img');
        fs.writeFileSync(f, Buffer.alloc(64 * 1024));
        return ['--kernel', guest, '--disk', `path=${f}`, '--disk', `path=${f},readonly=on`];
      },
      /disk image .*twice\.img is in use: another VM or program has it open for writing/,
    ],
    [
      'a vsock socket in a folder that does not exist (libuv would say EACCES)',
      () => ['--kernel', guest, '--vsock', `cid=3,socket=${path.join(dir, 'no-such-dir', 'v.sock')}`],
      /vsock socket .*v\.sock: its folder .*no-such-dir does not exist/,
    ],
    [
      'a serial output file in a folder that does not exist',
      () => ['--kernel', guest, '--serial', `file=${path.join(dir, 'no-such-dir', 'serial.log')}`],
      /serial output .*serial\.log cannot be written \(ENOENT\): check that its folder exists/,
    ],
    [
      'a directory as the console output file',
      () => ['--kernel', guest, '--console', `file=${dir}`],
      /console output .* cannot be written \(EISDIR\): give the path of a file/,
    ],
    [
      'a FIFO that no process reads as the serial output (it held the start up before)',
      () => {
        const f = path.join(dir, 'serial.fifo');
        if (!fs.existsSync(f)) execFileSync('mkfifo', [f]);
        return ['--kernel', guest, '--serial', `file=${f}`];
      },
      /serial output .*serial\.fifo cannot be written \(ENXIO\): it is a FIFO that no process reads: start its reader first/,
    ],
    [
      'an initrd larger than guest RAM (a sparse 10 GiB file; before, "Invalid typed array length")',
      () => {
        const f = path.join(dir, 'huge.initrd');
        fs.closeSync(fs.openSync(f, 'w'));
        fs.truncateSync(f, 10 * 2 ** 30);
        return ['--kernel', guest, '--initrd', f, '--memory', 'size=256M'];
      },
      /initrd .*huge\.initrd \(10240 MiB\) is larger than the guest's RAM \(256 MiB\)/,
    ],
    [
      'a disk image not a multiple of 512 bytes',
      () => {
        const f = path.join(dir, 'odd.img');
        fs.writeFileSync(f, Buffer.alloc(1000));
        return ['--kernel', guest, '--disk', `path=${f}`];
      },
      /512/,
    ],
  ])('%s: exit 1, one line saying what', (_what, args, message) => {
    const r = vmm('run', ...args());
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(oneLine(r.err)).toBe(true);
  });

  it('a failed vmm run ends even when its waiting vCPU thread wrote to its stderr', () => {
    // NODE_DEBUG makes Node's own bootstrap of that thread write there; a Node warning would too.
    // Node keeps a worker whose output is unread referenced, so the process waited for good. Two
    // vCPUs: the first one's thread starts only once the guest runs (early run), the second's
    // waits in the pool from Vmm.create on.
    const r = vmmWith(
      { NODE_DEBUG: 'worker' },
      'run',
      '--kernel',
      path.join(dir, 'missing'),
      '--cpus',
      'boot=2',
    );
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^vmm: kernel .*missing does not exist/m);
    // What that thread wrote while it waited is passed on as it ends, not lost.
    expect(r.err.match(/starts worker script.*pool-worker/g)).toHaveLength(1);
  });

  const p = probe();
  if (p.present && p.accessible)
    console.warn('SKIP (/dev/kvm is usable here): the error for a host without a usable /dev/kvm');
  it.skipIf(p.present && p.accessible)(
    'without a usable /dev/kvm: exit 1 with the problem and its fix',
    () => {
      const r = vmm('run', '--kernel', guest);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/kvm/i);
      expect(r.err).toContain(p.problems[0]!.fix);
      expect(oneLine(r.err)).toBe(true);
    },
  );

  it.each([
    [
      'a file that is not a network namespace',
      '/etc/passwd',
      /\/etc\/passwd: .*\(it is not a network namespace: give \/var\/run\/netns\/NAME/,
    ],
    ['a path that does not exist', '/nonexistent-netns', /\/nonexistent-netns does not exist: create it/],
  ])('vmm nat --netns with %s: exit 1, one line saying what', (_what, netns, message) => {
    // Before, any failure to enter the namespace said "vmm nat needs CAP_SYS_ADMIN: run as root".
    const r = vmm('nat', '--netns', netns);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(oneLine(r.err)).toBe(true);
  });

  it("vmm doctor names this host's virtualization kind and, when KVM is unusable, how to fix it", () => {
    const r = vmm('doctor');
    expect(r.out).toContain(`virtualization: ${p.virtualization}`);
    if (p.problems.length > 0) {
      expect(r.code).toBe(1);
      expect(r.out).toContain(`fix: ${p.problems[0]!.fix}`);
    } else expect(r.code).toBe(0);
  });
});
