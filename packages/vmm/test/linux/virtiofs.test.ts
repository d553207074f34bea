// Tier 4, issue 22: the minimal Linux guest under `vmm run` with two virtio-fs shares (one
// read-write with cache=always, one read-only), served from the share's own I/O thread under the
// default seccomp filter. One boot carries every check (boots are slow on software-emulated KVM):
// the guest mounts both, creates, writes, reads back, renames, symlinks, chmods, truncates and lists
// files, each checked on the host; reads a file the host wrote before and one written during the
// run; gets EROFS from the read-only share; and cannot be led out of the share: after the guest has
// cached directory `d`, the host swaps `d` for a symlink to a directory outside the share, and
// neither `cat /mnt/d/secret` nor `ls /mnt/d` shows what is there. Between the two, the VM is
// snapshotted with a file open and its shell's working directory in the share, and the rest runs
// in a new process restored from it: the open file reads, the working directory lists, the cached
// paths and new writes work. Extended attributes (the
// initramfs's xattr tool) go through a third share, in a directory whose file system keeps user.*
// attributes: the temporary one is tmpfs on the nested-KVM host, whose Linux 6.1 keeps none there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDir } from '../../../../test-vms/src/cache';
import { buildProgram } from '../../../../test-vms/src/initramfs/build';
import { hostXattr, userXattrDir } from '../../../../test-vms/src/initramfs/xattr.test-support';
import { bootLinuxGuest, linuxGuestAssets, type LinuxGuestAssets } from '../support/linux-guest';
import { kvmUsable } from '../support/kvm-available';
import { snapshotIntoNewProcess } from '../support/snapshot-restore';

const canRun = kvmUsable('tier 4: a Linux guest with virtio-fs shares on /dev/kvm');
const BOOT_MS = 240_000;
/** A dozen file commands: ~1-3 s each under emulation. */
const SCRIPT_MS = 240_000;

describe.skipIf(!canRun)('Linux guest with virtio-fs shares under vmm run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-virtiofs-'));
  const share = path.join(dir, 'share');
  const ro = path.join(dir, 'ro');
  const outside = path.join(dir, 'outside');
  const SECRET = `TOPSECRET-${process.pid}-${Date.now()}`;
  let assets: LinuxGuestAssets;
  /** The xattr tool on the host (where getfattr is missing), and the third share's directory. */
  let xattrTool: string;
  let xa: string | undefined;

  beforeAll(async () => {
    assets = await linuxGuestAssets();
    xattrTool = await buildProgram('xattr');
    const base = userXattrDir(xattrTool, [os.tmpdir(), cacheDir()]);
    if (base) {
      xa = fs.mkdtempSync(path.join(base, 'vmm-virtiofs-xattr-'));
      fs.writeFileSync(path.join(xa, 'a.txt'), 'attributes here\n');
    } else {
      console.warn(
        'SKIP (no user.* extended attributes in the temporary or the cache directory): the virtio-fs xattr checks',
      );
    }
    fs.mkdirSync(path.join(share, 'd'), { recursive: true });
    fs.writeFileSync(path.join(share, 'd', 'inside.txt'), 'inside\n');
    fs.writeFileSync(path.join(share, 'hostfile.txt'), 'from-host-42\n');
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(ro, 'file.txt'), 'read-only-data\n');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), `${SECRET}\n`);
  }, 1_800_000);
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (xa) fs.rmSync(xa, { recursive: true, force: true });
  });

  it(
    'mounts a share and round-trips file operations and extended attributes with the host, refuses writes to a read-only share, and never leaves the share when the host swaps a cached directory for a symlink',
    async () => {
      const socket = path.join(dir, 'api.sock');
      const first = bootLinuxGuest(
        assets,
        '--api-socket',
        `path=${socket}`,
        '--fs',
        `tag=share,path=${share},cache=always`,
        '--fs',
        `tag=ro,path=${ro},readonly=on`,
        ...(xa ? ['--fs', `tag=xa,path=${xa},cache=always`] : []),
      );
      let p = first;
      try {
        await p.waitFor(/VMM-READY/, BOOT_MS);
        const from = p.out.length;
        // The console echoes what we type: the quotes keep the typed commands from matching.
        p.send(
          [
            'mkdir -p /mnt /ro /xa',
            'mount -t virtiofs share /mnt && echo MOUNT""=ok',
            'mount -t virtiofs ro /ro && echo ROMOUNT""=ok',
            'echo HOST""FILE=$(cat /mnt/hostfile.txt)',
            'echo hello-guest > /mnt/a.txt && echo READ""BACK=$(cat /mnt/a.txt)',
            'mv /mnt/a.txt /mnt/b.txt && echo RENAMED""=ok',
            'ln -s b.txt /mnt/link && echo LINK""=$(cat /mnt/link)',
            'busybox chmod 640 /mnt/b.txt && echo MODE""=$(stat -c %a /mnt/b.txt)',
            'busybox truncate -s 5 /mnt/b.txt && echo SIZE""=$(stat -c %s /mnt/b.txt)',
            'mkdir /mnt/sub && echo data > /mnt/sub/f && echo LS""=$(ls /mnt | tr "\\n" " ")',
            'echo RO""READ=$(cat /ro/file.txt)',
            'echo x > /ro/new; echo RO""WRITE=done',
            'xattr set /ro/file.txt user.x y; echo RO""XATTR=$?',
            ...(xa
              ? [
                  'mount -t virtiofs xa /xa && echo XAMOUNT""=ok',
                  'xattr set /xa/a.txt user.vmm hello-xattr && echo XSET""=ok',
                  'echo XGET""=$(xattr get /xa/a.txt user.vmm)',
                  'echo XLIST""=$(xattr list /xa/a.txt | tr "\\n" " ")',
                ]
              : []),
            // Cache `d` (cache=always: a day), then the host swaps it.
            'echo LS""D=$(ls /mnt/d)',
            'echo BATCH""1=done',
            '',
          ].join('\n'),
        );
        await p.waitFor(/BATCH1=done/, SCRIPT_MS);
        const out1 = p.out.slice(from);
        expect(out1).toMatch(/MOUNT=ok/);
        expect(out1).toMatch(/ROMOUNT=ok/);
        expect(out1).toMatch(/HOSTFILE=from-host-42/);
        expect(out1).toMatch(/READBACK=hello-guest/);
        expect(out1).toMatch(/RENAMED=ok/);
        expect(out1).toMatch(/LINK=hello-guest/);
        expect(out1).toMatch(/MODE=640/);
        expect(out1).toMatch(/SIZE=5/);
        expect(out1).toMatch(/LS=b\.txt d hostfile\.txt link sub\s/);
        expect(out1).toMatch(/ROREAD=read-only-data/);
        expect(out1).toMatch(/can't create \/ro\/new: Read-only file system/);
        expect(out1).toMatch(/xattr: set: EROFS/);
        expect(out1).toMatch(/ROXATTR=1/);
        expect(out1).toMatch(/LSD=inside\.txt/);
        // Each result, on the host.
        expect(fs.existsSync(path.join(share, 'a.txt'))).toBe(false);
        expect(fs.readFileSync(path.join(share, 'b.txt'), 'utf8')).toBe('hello');
        expect(fs.statSync(path.join(share, 'b.txt')).mode & 0o777).toBe(0o640);
        expect(fs.readlinkSync(path.join(share, 'link'))).toBe('b.txt');
        expect(fs.readFileSync(path.join(share, 'sub', 'f'), 'utf8')).toBe('data\n');
        expect(fs.readdirSync(ro)).toEqual(['file.txt']);
        if (xa) {
          expect(out1).toMatch(/XAMOUNT=ok/);
          expect(out1).toMatch(/XSET=ok/);
          expect(out1).toMatch(/XGET=hello-xattr/);
          expect(out1).toMatch(/XLIST=(\S+ )*user\.vmm\s/);
          expect(hostXattr(xattrTool, path.join(xa, 'a.txt'), 'user.vmm')).toBe('hello-xattr');
        }

        // A snapshot with a file open (fd 3) and the shell's working directory in the share, this
        // process ended hard, the VM restored in a new one: the guest's FUSE session goes on there.
        p.send('exec 3< /mnt/hostfile.txt; cd /mnt/d && echo HELD""=ok\n');
        await p.waitFor(/HELD=ok/, SCRIPT_MS);
        p = await snapshotIntoNewProcess(p, socket, path.join(dir, 'snap'));
        const from1 = p.out.length;
        p.send(
          [
            'echo OPEN""FD=$(cat <&3)',
            'echo CWD""=$(ls)',
            'echo CACHED""=$(cat /mnt/b.txt)',
            'echo after-restore > /mnt/after.txt && echo WROTE""=ok',
            'cd / && exec 3<&- && echo BATCH""R=done',
            '',
          ].join('\n'),
        );
        await p.waitFor(/BATCHR=done/, SCRIPT_MS);
        const outR = p.out.slice(from1);
        expect(outR).toMatch(/OPENFD=from-host-42/);
        expect(outR).toMatch(/CWD=inside\.txt/);
        expect(outR).toMatch(/CACHED=hello/);
        expect(outR).toMatch(/WROTE=ok/);
        expect(fs.readFileSync(path.join(share, 'after.txt'), 'utf8')).toBe('after-restore\n');
        fs.rmSync(path.join(share, 'after.txt'));

        // The host swaps the cached `d` for a symlink out of the share, and writes a new file.
        fs.renameSync(path.join(share, 'd'), path.join(share, 'd.old'));
        fs.symlinkSync(outside, path.join(share, 'd'));
        fs.writeFileSync(path.join(share, 'late.txt'), 'written-late\n');
        const from2 = p.out.length;
        p.send(
          [
            'cat /mnt/d/secret; echo CAT""=done',
            'ls -la /mnt/d/; echo LS""2=done',
            'ls /mnt/d/secret; echo LS""3=done',
            'echo LATE""=$(cat /mnt/late.txt)',
            // The rest of the calls the share's thread makes (its seccomp list): link, unlink, rmdir,
            // mknod, utimensat, fsync, statfs.
            'ln /mnt/b.txt /mnt/hard && rm /mnt/link && rm -r /mnt/sub && busybox mkfifo /mnt/fifo && echo MORE""=ok',
            'busybox touch -d "2020-01-02 03:04:05" /mnt/b.txt && echo TOUCH""=ok',
            'dd if=/dev/zero of=/mnt/z bs=4096 count=4 conv=fsync 2>/dev/null && echo FSYNC""=ok',
            'stat -f -c %b /mnt >/dev/null && echo STATFS""=ok',
            ...(xa
              ? [
                  'xattr rm /xa/a.txt user.vmm && echo XRM""=ok',
                  'xattr get /xa/a.txt user.vmm; echo XGONE""=$?',
                ]
              : []),
            `umount /mnt && umount /ro${xa ? ' && umount /xa' : ''} && echo UMOUNT""=ok`,
            'echo BATCH""2=done',
            '',
          ].join('\n'),
        );
        await p.waitFor(/BATCH2=done/, SCRIPT_MS);
        const out2 = p.out.slice(from2);
        expect(out2).toMatch(/CAT=done/);
        expect(out2).toMatch(/LS2=done/);
        // What `ls -la /mnt/d/` printed (after its echoed command line): the old directory's name, not the secret's.
        const start = out2.lastIndexOf('LS""2=done') + 10;
        const listing = out2.slice(start, out2.indexOf('LS2=done', start));
        expect(listing).toContain('inside.txt');
        expect(listing).not.toContain('secret');
        expect(out2).toMatch(/LATE=written-late/);
        expect(out2).toMatch(/UMOUNT=ok/);
        for (const m of ['MORE', 'TOUCH', 'FSYNC', 'STATFS']) expect(out2).toMatch(new RegExp(`${m}=ok`));
        expect(fs.statSync(path.join(share, 'hard')).nlink).toBe(2);
        expect(fs.readdirSync(share).sort()).toEqual(
          ['b.txt', 'd', 'd.old', 'fifo', 'hard', 'hostfile.txt', 'late.txt', 'z'].sort(),
        );
        expect(fs.lstatSync(path.join(share, 'fifo')).isFIFO()).toBe(true);
        expect(fs.statSync(path.join(share, 'b.txt')).mtime.getUTCFullYear()).toBe(2020);
        expect(fs.statSync(path.join(share, 'z')).size).toBe(16384);
        if (xa) {
          expect(out2).toMatch(/XRM=ok/);
          expect(out2).toMatch(/xattr: get: ENODATA/);
          expect(out2).toMatch(/XGONE=1/);
          expect(hostXattr(xattrTool, path.join(xa, 'a.txt'), 'user.vmm')).toBeUndefined();
        }
        p.send('poweroff -f\n');
        expect((await p.exited).code).toBe(0);
        for (const q of [first, p]) {
          expect(q.out).not.toContain(SECRET);
          expect(q.out).not.toMatch(/Kernel panic|BUG:|Oops|WARNING:/);
        }
      } finally {
        first.kill();
        p.kill();
      }
    },
    BOOT_MS * 2 + SCRIPT_MS * 3,
  );
});
