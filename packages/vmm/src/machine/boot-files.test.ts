// A VM's kernel and initrd (BootImages): read from the files it holds open, given back after each
// load, read again for a reboot (from the same files even when their paths now name others), the
// guest agent's archive after the initrd; and the errors a user can act on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentArchive, initrdWithAgent, agentArchiveOffset } from '../agent/initramfs';
import type { KernelSource } from '../arch/x86_64/index';
import { BootImages, readBootFiles } from './boot-files';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-boot-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, data: Uint8Array | string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
};
const openFds = () => fs.readdirSync('/proc/self/fd').length;
const text = (k: KernelSource) => {
  const b = Buffer.alloc(k.length);
  k.readInto(b, 0);
  return b.toString();
};

describe('BootImages', () => {
  it('reads both files, gives them back at release, reads them again from the open files for a reboot', () => {
    const kernel = write('k1', 'KERNEL-ONE');
    const initrd = write('i1', 'INITRD-ONE');
    const fds = openFds();
    const files = BootImages.open({ kernel, initrd });
    expect(openFds()).toBe(fds + 2);
    const first = files.hold();
    expect(text(first.kernel)).toBe('KERNEL-ONE');
    expect(Buffer.from(first.initrd!).toString()).toBe('INITRD-ONE');
    expect(files.hold().kernel).toBe(first.kernel);
    files.release();
    // The path now names another file: the VM keeps booting the one it opened.
    fs.renameSync(write('k2', 'KERNEL-TWO'), kernel);
    // The file it opened, changed in place, is read as it is now.
    fs.writeFileSync(initrd, 'INITRD-ONE-LONGER');
    const again = files.hold();
    expect(text(again.kernel)).toBe('KERNEL-ONE');
    expect(Buffer.from(again.initrd!).toString()).toBe('INITRD-ONE-LONGER');
    expect(files.isLinux).toBe(false);
    files.close();
    expect(openFds()).toBe(fds);
  });

  it('follows every boot’s initrd with the agent’s archive, 512-aligned, as initrdWithAgent does', () => {
    const original = new Uint8Array(1000).fill(7);
    const agent = new Uint8Array(3000).fill(9);
    const files = BootImages.open({ kernel: write('k3', 'K'), initrd: write('i3', original) });
    files.appendToInitrd(agentArchive(agent), agentArchiveOffset);
    expect(Buffer.from(files.hold().initrd!)).toEqual(Buffer.from(initrdWithAgent(original, agent)));
    files.release();
    expect(Buffer.from(files.hold().initrd!)).toEqual(Buffer.from(initrdWithAgent(original, agent)));
    files.close();
  });

  it('refuses what it cannot boot from with a sentence, and leaves no file open', () => {
    const fds = openFds();
    const initrd = write('i4', 'I');
    expect(() => BootImages.open({ kernel: path.join(dir, 'none') })).toThrow(/kernel .*none does not exist/);
    expect(() => BootImages.open({ kernel: write('empty', '') })).toThrow(/kernel .*empty is empty/);
    expect(() => BootImages.open({ kernel: dir })).toThrow(/is a directory, not a file/);
    expect(() => BootImages.open({ kernel: write('k5', 'K'), initrd: path.join(dir, 'no-initrd') })).toThrow(
      /initrd .*no-initrd does not exist/,
    );
    expect(() => BootImages.open({ kernel: write('k6', 'K'), initrd: '/dev/null' })).toThrow(
      /initrd \/dev\/null is a device, not a regular file/,
    );
    expect(readBootFiles({ kernel: write('k7', 'K7'), initrd }).kernel.length).toBe(2);
    expect(openFds()).toBe(fds);
  });

  it('refuses an initrd larger than guest RAM before reading it (a 10 GiB one was an "Invalid typed array length")', () => {
    const big = path.join(dir, 'big-initrd');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 10 * 2 ** 30); // sparse: nothing is written
    const files = BootImages.open({ kernel: write('k8', 'K'), initrd: big, memory: { size: 256 * 2 ** 20 } });
    try {
      expect(() => files.hold()).toThrow(
        expect.objectContaining({
          code: 'EINITRD',
          message: expect.stringMatching(
            /initrd .*big-initrd \(10240 MiB\) is larger than the guest's RAM \(256 MiB\): give the VM more memory or a smaller initrd/,
          ),
        }),
      );
    } finally {
      files.close();
      fs.rmSync(big);
    }
  });
});
