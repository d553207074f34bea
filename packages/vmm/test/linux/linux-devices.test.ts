// Tier 4, issues 9 and 10: the minimal Linux guest under `vmm run` with a virtio disk and a
// virtio-net interface on the userspace NAT. One boot carries every check (boots are slow on
// software-emulated KVM). The disk is an ext4 image built by test-vms (`mkfs.ext4 -d`): the guest
// mounts it, checks the sha256 of a file the host put there, writes a new file with one large dd,
// syncs and unmounts (test-vms/src/disk/ext4-guest.ts, the same script QEMU runs in
// ext4-qemu.test.ts); after poweroff the host reads the new file back with debugfs and e2fsck -fn
// finds the image clean.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectExt4Image,
  expectExt4ScriptLines,
} from '../../../../test-vms/src/disk/ext4-checks.test-support';
import {
  EXT4_IMAGE_BYTES,
  EXT4_SCRIPT_DONE,
  buildExt4GuestDisk,
  ext4GuestScript,
} from '../../../../test-vms/src/disk/ext4-guest';
import { bootLinuxGuestWith, linuxGuestAssets, type LinuxGuestAssets } from '../support/linux-guest';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 4: Linux guests with virtio devices on /dev/kvm');
const BOOT_MS = 240_000;
/** mount, a 1 MiB sha256sum, a 1 MiB dd, sync, umount: ~1-3 s a command under emulation, more for the I/O. */
const EXT4_SCRIPT_MS = 300_000;

describe.skipIf(!canRun)('Linux guest with virtio-blk and virtio-net under vmm run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-linux-dev-'));
  const payload = Buffer.alloc(4 * 2 ** 20);
  for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
  const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const payloadSha = sha256(payload);
  let server: http.Server;
  let port = 0;
  // What the guest sends back (nc): its sha256 once the guest closes.
  let sink: net.Server;
  let sinkPort = 0;
  const uploads: Promise<string>[] = [];
  let assets: LinuxGuestAssets;

  beforeAll(async () => {
    assets = await linuxGuestAssets();
    server = http.createServer((_req, res) => res.end(payload));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    sink = net.createServer((s) => {
      const h = createHash('sha256');
      uploads.push(
        new Promise((resolve) => {
          s.on('data', (d) => h.update(d));
          s.on('end', () => {
            resolve(h.digest('hex'));
            s.end();
          });
          s.on('error', () => resolve('error'));
        }),
      );
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    sinkPort = (sink.address() as net.AddressInfo).port;
  }, 1_800_000);
  afterAll(() => {
    server?.close();
    sink?.close();
  });

  it(
    'sees /dev/vda with its size and serial, round-trips a file through ext4, gets DHCP leases (ip=dhcp at boot, then udhcpc), pings the gateway, fetches 4 MiB intact and sends it back with TSO, and is reached through hostfwd',
    async () => {
      const disk = await buildExt4GuestDisk(dir);
      const fwdPort = 20000 + Math.floor(Math.random() * 20000);
      // ip=dhcp: the kernel's own DHCP client configures eth0 before /init runs.
      const p = bootLinuxGuestWith(
        assets,
        ['ip=dhcp'],
        '--disk',
        `path=${disk},serial=vmm-disk-0`,
        '--net',
        `host_loopback=on,hostfwd=tcp:127.0.0.1:${fwdPort}-:2222`,
      );
      await p.waitFor(/VMM-READY/, BOOT_MS);
      const ext4From = p.out.length;
      p.send(ext4GuestScript());
      await p.waitFor(EXT4_SCRIPT_DONE, EXT4_SCRIPT_MS);
      expectExt4ScriptLines(p.out.slice(ext4From));
      // The kernel's IP autoconfiguration (net/ipv4/ipconfig.c) got the lease our NAT's DHCP offers.
      expect(p.out).toMatch(
        /IP-Config: Complete:[\s\S]*device=eth0[\s\S]*ipaddr=10\.0\.2\.15, mask=255\.255\.255\.0, gw=10\.0\.2\.2/,
      );
      const from = p.out.length;
      p.send(
        [
          'echo SECTORS=$(cat /sys/block/vda/size) SERIAL=$(cat /sys/block/vda/serial)',
          'udhcpc -i eth0 -n -q -t 5 >/dev/null 2>&1; echo LEASE=$(ip -4 addr show eth0 | grep -o "10\\.0\\.2\\.15")',
          // The console echoes what we type: the quotes keep the typed commands from matching.
          'ping -c 1 -W 5 10.0.2.2 >/dev/null && echo PING""=ok',
          `wget -q -O /tmp/p http://10.0.2.2:${port}/ && echo FETCHED=$(sha256sum /tmp/p | cut -c1-64)`,
          // Its first 256 KiB back to the host (guest syscalls are slow here: ~50 s per MiB through
          // nc); Linux's TSO hands the device each 8 KiB write of nc as one super-segment.
          `dd if=/tmp/p of=/tmp/u bs=65536 count=4 2>/dev/null; nc 10.0.2.2 ${sinkPort} < /tmp/u && echo SENT""=ok`,
          // virtio feature bits as negotiated (character i is bit i): GUEST_TSO4 7, HOST_TSO4 11
          'echo NETFEAT=$(cat /sys/class/net/eth0/device/features)',
          '(echo HELLO-FROM-GUEST | nc -l -p 2222 &) ; echo LISTEN""ING=1',
          '',
        ].join('\n'),
      );
      await p.waitFor(/LISTENING=1/, 180_000);
      // `nc -l` starts in the background after LISTENING is printed: until it listens, the guest
      // refuses the forwarded connection and the host sees it closed empty. Try again until then.
      let got = '';
      for (const end = Date.now() + 120_000; !got.includes('HELLO-FROM-GUEST') && Date.now() < end;) {
        got = await fetchOnce(fwdPort);
        if (!got) await new Promise((r) => setTimeout(r, 1000));
      }
      const out = p.out.slice(from);
      expect(out).toMatch(new RegExp(`SECTORS=${EXT4_IMAGE_BYTES / 512} SERIAL=vmm-disk-0`));
      expect(out).toMatch(/LEASE=10\.0\.2\.15/);
      expect(out).toMatch(/PING=ok/);
      expect(out).toContain(`FETCHED=${payloadSha}`);
      expect(out).toMatch(/SENT=ok/);
      expect(await Promise.all(uploads)).toEqual([sha256(payload.subarray(0, 256 << 10))]);
      const features = /NETFEAT=([01]+)/.exec(out)?.[1] ?? '';
      expect([features[7], features[11]]).toEqual(['1', '1']);
      expect(got).toContain('HELLO-FROM-GUEST');
      p.send('poweroff -f\n');
      expect((await p.exited).code).toBe(0);
      // The monitor has exited: every write it took from the guest is in the image file.
      await expectExt4Image(disk);
      expect(p.out).not.toMatch(/Kernel panic|BUG:|Oops|WARNING:|EXT4-fs error/);
    },
    BOOT_MS * 3 + EXT4_SCRIPT_MS,
  );
});

/** One connection to the host end of the forward: what arrived before it closed (or 20 s passed). */
function fetchOnce(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => s.end(), 20_000);
    s.on('data', (d) => (data += d.toString()));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    s.on('error', () => undefined); // a refused or reset connection closes with what it got
  });
}
