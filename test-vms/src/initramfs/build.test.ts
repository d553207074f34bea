// The initramfs as cpio(1) sees it, and its udhcpc script run for real by busybox in a
// private network and mount namespace (the guest's shell and `ip`, a tap interface).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildInitramfs, buildProgram } from './build';
import { BUSYBOX, UDHCPC_SCRIPT } from './files';

const hasBusybox = fs.existsSync(BUSYBOX);
if (!hasBusybox) console.warn(`SKIP (no ${BUSYBOX}): initramfs tests`);
const canUnshare = hasBusybox && spawnSync('unshare', ['-m', '-n', 'true']).status === 0;
if (hasBusybox && !canUnshare) console.warn('SKIP (unshare -m -n not permitted): the udhcpc script test');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-initramfs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!hasBusybox)('test initramfs', () => {
  it('holds /init, busybox with its applets, /dev/console, the udhcpc script, the syscall probe and the xattr tool', async () => {
    const file = await buildInitramfs();
    const list = execFileSync('cpio', ['-tv', '--quiet', '-F', file], { encoding: 'utf8' });
    expect(list).toMatch(/^-rwxr-xr-x .* init$/m);
    expect(list).toMatch(/^-rwxr-xr-x .* bin\/busybox$/m);
    expect(list).toMatch(/^crw------- .* 5,\s+1 .* dev\/console$/m);
    expect(list).toMatch(/^lrwxrwxrwx .* bin\/cttyhack -> busybox$/m);
    expect(list).toMatch(/^-rwxr-xr-x .* etc\/udhcpc\/default\.script$/m);
    expect(list).toMatch(/^-rwxr-xr-x .* bin\/syscall-via-fault$/m);
    expect(list).toMatch(/^-rwxr-xr-x .* bin\/xattr$/m);
    // The very program xattr.test.ts runs on the host.
    const archived = execFileSync('cpio', ['-i', '--quiet', '--to-stdout', '-F', file, 'bin/xattr']);
    expect(archived.equals(fs.readFileSync(await buildProgram('xattr')))).toBe(true);
    // Rebuilding with the same inputs is a cache hit: same path, same bytes.
    expect(await buildInitramfs()).toBe(file);
  });

  it.skipIf(!canUnshare)('udhcpc default.script configures address, default route and resolv.conf', () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    for (const a of ['sh', 'ip']) fs.symlinkSync(BUSYBOX, path.join(bin, a));
    const script = path.join(tmp, 'default.script');
    fs.writeFileSync(script, UDHCPC_SCRIPT, { mode: 0o755 });
    const resolv = path.join(tmp, 'resolv.conf');
    fs.writeFileSync(resolv, 'nameserver 192.0.2.99\n');
    // A private /etc/resolv.conf (bind mount) and a private network with one tap interface.
    const inner = [
      `mount --bind ${resolv} /etc/resolv.conf`,
      // The host's iproute2 makes the interface: a tap device (the dummy module may be absent).
      '/usr/sbin/ip tuntap add dev d0 mode tap',
      `interface=d0 ${script} deconfig`,
      `interface=d0 ip=10.0.2.15 mask=24 router=10.0.2.2 dns="10.0.2.3 10.0.2.4" domain=test ${script} bound`,
      'ip -4 addr show dev d0',
      'ip -4 route show',
    ].join(' && ');
    const out = execFileSync('unshare', ['-m', '-n', `${bin}/sh`, '-c', inner], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` },
    });
    expect(out).toMatch(/inet 10\.0\.2\.15\/24 /);
    expect(out).toMatch(/default via 10\.0\.2\.2 dev d0/);
    expect(fs.readFileSync(resolv, 'utf8')).toBe('search test\nnameserver 10.0.2.3\nnameserver 10.0.2.4\n');
  });
});
