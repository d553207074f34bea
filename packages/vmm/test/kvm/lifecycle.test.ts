// Tier 2: the VM's lifecycle on /dev/kvm through the library handle, with the `lifecycle` test
// guest (it prints "COUNT n" every 100 ms): pause stops the count and resume goes on from it,
// reboot starts the guest over, the ACPI power button runs the guest's handler and it powers off;
// a call in the wrong state is refused and changes nothing. One VM, one run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { Vm, Vmm, VmmError, type VmState } from '../../src/index';
import { kvmUsable, NESTED_VM } from '../support/kvm-available';
import { threadReport } from '../support/thread-report';

const canRun = kvmUsable('tier 2: VM lifecycle (pause, resume, reboot, power button) on /dev/kvm');

/** The COUNTs the guest printed; `head`: output of the VM it was restored from, after that
 * VM's last newline (a pause can fall in the middle of a line: the restored guest finishes it). */
function counts(vm: Vm, head = ''): number[] {
  return [...(head + vm.console.output).matchAll(/^COUNT (\d+)$/gm)].map((m) => Number(m[1]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A start or restore, given the time a nested-KVM VM under TCG can take (threads loading there). */
const START = { timeoutMs: 180_000 };

/** waitFor, whose failure quotes the guest's last output (the VM may have ended first), the
 * devices' counters and the monitor's `notices` if given. */
async function shows(vm: Vm, pattern: RegExp, timeoutMs: number, notices?: string[]): Promise<void> {
  try {
    await vm.console.waitFor(pattern, { timeoutMs });
  } catch (e) {
    throw new Error(
      `${(e as Error).message}; waiting for ${String(pattern)}; the guest's last output: ${JSON.stringify(vm.console.output.slice(-400))}; devices: ${JSON.stringify(vm.counters())}; ${notices ? `the monitor said: ${JSON.stringify(notices)}; ` : ''}this process's threads (the VM's among them):\n${threadReport(process.pid)}`,
    );
  }
}

describe.skipIf(!canRun)('the VM lifecycle on /dev/kvm', () => {
  let guest: string;
  beforeAll(async () => {
    guest = (await buildGuests())['lifecycle']!;
  }, 300_000);

  it('pause stops the count, resume goes on from it; reboot starts over; the power button powers off', async () => {
    const vm = await Vmm.builder()
      .kernel(guest)
      .cpus(2)
      .memory('128M')
      .console({ capture: true })
      .start(START);
    try {
      const states: VmState[] = [];
      vm.on('state', (s) => states.push(s));
      await vm.console.waitFor(/^COUNT 3\n/m, { timeoutMs: 60_000 });

      await expect(vm.resume()).rejects.toMatchObject({ code: 'EVMSTATE' });
      await vm.pause();
      expect(vm.state).toBe('paused');
      await sleep(300); // a line written just before the vCPU parked is still crossing the pipe
      const atPause = counts(vm);
      // KVM's own counters: the boot vCPU has run (the guest never starts the other, which waits
      // for its SIPI inside KVM), and none runs while paused.
      const kvmAtPause = vm.counters().kvm!;
      expect(kvmAtPause.vcpus).toHaveLength(2);
      expect(kvmAtPause.vcpus[0]!.exits).toBeGreaterThan(0);
      await sleep(1500); // 15 counts' worth of time
      expect(counts(vm)).toEqual(atPause);
      expect(vm.counters().kvm!.vcpus.map((v) => v.exits)).toEqual(kvmAtPause.vcpus.map((v) => v.exits));
      await expect(vm.pause()).rejects.toMatchObject({ code: 'EVMSTATE' });
      await expect(vm.powerButton()).rejects.toBeInstanceOf(VmmError);

      await vm.resume();
      expect(vm.state).toBe('running');
      const last = atPause[atPause.length - 1]!;
      await vm.console.waitFor(new RegExp(`^COUNT ${last + 2}\\n`, 'm'), { timeoutMs: 30_000 });
      const after = counts(vm);
      expect(after.slice(0, atPause.length)).toEqual(atPause);
      expect(after.slice(atPause.length, atPause.length + 2)).toEqual([last + 1, last + 2]);
      // Two COUNT lines more: the guest's port writes to COM1 are exits KVM counted (all exits:
      // kvm_pvm leaves io_exits at 0).
      const exits = (k: NonNullable<ReturnType<typeof vm.counters>['kvm']>) =>
        k.vcpus.reduce((n, v) => n + v.exits!, 0);
      expect(exits(vm.counters().kvm!)).toBeGreaterThan(exits(kvmAtPause));

      // Pause and resume at once, several times: each answers, nothing is lost.
      for (let i = 0; i < 5; i++) {
        await vm.pause();
        await vm.resume();
      }
      const n = counts(vm).length;
      await vm.console.waitFor(/^COUNT \d+\n/m, { timeoutMs: 30_000, fromNow: true });
      const seq = counts(vm);
      expect(seq.length).toBeGreaterThan(n);
      expect(seq).toEqual(seq.map((_, i) => i + 1)); // 1, 2, 3, ... with no gap or repeat

      await vm.reboot();
      await vm.console.waitFor(/LIFECYCLE-READY\n(?:.*\n)*?COUNT 1\n/, { timeoutMs: 60_000, fromNow: true });

      await vm.powerButton();
      await vm.console.waitFor(/^POWER-BUTTON\n/m, { timeoutMs: 30_000 });
      const exit = await vm.exited;
      expect(exit.outcome).toBe('poweroff');
      expect(exit.reboots).toBe(1);
      const pauses = Array.from({ length: 6 }, () => ['paused', 'running']).flat();
      expect(states).toEqual([...pauses, 'stopped']);
    } finally {
      await vm.dispose();
    }
  }, 480_000);

  // Fewer inside the nested-KVM VM, where each start takes seconds (TCG): 8 took 74 s of CI there.
  const disposeRounds = NESTED_VM ? 3 : 8;
  it(`a VM disposed the moment its pause resolves ends, each of ${disposeRounds} times (the parked vCPU sees the stop)`, async () => {
    // The pause resolves on the vCPU thread's 'paused' message, which it posts before it sleeps:
    // a stop that only notified could come before the sleep and be slept through (it hung so).
    for (let i = 0; i < disposeRounds; i++) {
      const vm = await Vmm.builder().kernel(guest).memory('128M').console({ capture: true }).start(START);
      await vm.console.waitFor(/^COUNT 1\n/m, { timeoutMs: 60_000 });
      await vm.pause();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 20_000)));
      const ended = await Promise.race([vm.dispose().then(() => 'ended' as const), late]);
      clearTimeout(timer);
      expect(`round ${i}: ${ended}`).toBe(`round ${i}: ended`);
      expect(vm.state).toBe('stopped');
    }
  }, 300_000);

  describe('snapshot and restore', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-snapshot-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const snap = path.join(dir, 'snap');
    let last = 0;
    /** What the snapshotted VM printed after its last newline. */
    let tail = '';

    it('a paused VM is written to a directory; a running one is refused', async () => {
      const vm = await Vmm.builder()
        .kernel(guest)
        .cpus(2)
        .memory('256M')
        .console({ capture: true })
        .start(START);
      try {
        await vm.console.waitFor(/^COUNT 5\n/m, { timeoutMs: 60_000 });
        await expect(vm.snapshot(snap)).rejects.toMatchObject({ code: 'EVMSTATE' });
        await vm.pause();
        await sleep(300);
        last = counts(vm).at(-1)!;
        tail = vm.console.output.slice(vm.console.output.lastIndexOf('\n') + 1);
        await vm.snapshot(snap);
        await expect(vm.snapshot(snap)).rejects.toMatchObject({ code: 'ESNAPSHOTEXISTS' });
        // The same directory as a file:// URL (the REST API's form) is that directory; any other
        // URL is refused (before, 'http://host/x' made a directory 'http:' here).
        await expect(vm.snapshot(pathToFileURL(snap).href)).rejects.toMatchObject({
          code: 'ESNAPSHOTEXISTS',
        });
        await expect(vm.snapshot('http://host/x')).rejects.toMatchObject({
          code: 'ESNAPSHOTDIR',
          message: expect.stringMatching(/a snapshot is a directory on this host/),
        });
        expect(fs.existsSync('http:')).toBe(false);
        expect(fs.readdirSync(snap).sort()).toEqual(['devices.json', 'kvm.state', 'manifest.json', 'memory']);
        // Only what the guest touched is stored: a few MiB of 256.
        expect(fs.statSync(path.join(snap, 'memory')).blocks * 512).toBeLessThan(16 * 2 ** 20);
      } finally {
        await vm.dispose();
      }
    }, 360_000);

    it('restored twice (the second with prefault), each VM comes back paused and counts on from where the first stopped', async () => {
      const a = await Vm.restore(snap, START);
      const b = await Vm.restore(pathToFileURL(snap).href, { ...START, prefault: true });
      try {
        expect(a.state).toBe('paused');
        await sleep(500);
        expect(counts(a)).toEqual([]);
        await a.resume();
        await b.resume();
        await a.console.waitFor(new RegExp(`^COUNT ${last + 3}\\n`, 'm'), { timeoutMs: 30_000 });
        await b.console.waitFor(new RegExp(`^COUNT ${last + 3}\\n`, 'm'), { timeoutMs: 30_000 });
        expect(counts(a, tail).slice(0, 3)).toEqual([last + 1, last + 2, last + 3]);
        expect(counts(b, tail).slice(0, 3)).toEqual([last + 1, last + 2, last + 3]);
        // Independent: one powers off, the other counts on.
        await a.powerButton();
        expect((await a.exited).outcome).toBe('poweroff');
        const n = counts(b).at(-1)!;
        await b.console.waitFor(new RegExp(`^COUNT ${n + 2}\\n`, 'm'), { timeoutMs: 30_000 });
        expect(b.state).toBe('running');
      } finally {
        await a.dispose();
        await b.dispose();
      }
    }, 360_000);

    it('a restored VM snapshotted into the directory it came from (its manifest deleted) counts on, and so does that snapshot', async () => {
      // Its guest RAM is that directory's `memory`, mapped copy-on-write: a new one truncated over it
      // zeroed every page the guest had not written, under the running guest and in the new file.
      const again = path.join(dir, 'again');
      fs.cpSync(snap, again, { recursive: true });
      const vm = await Vm.restore(again, START);
      let n: number;
      try {
        await vm.resume();
        await shows(vm, new RegExp(`^COUNT ${last + 2}\n`, 'm'), 30_000);
        await vm.pause();
        fs.unlinkSync(path.join(again, 'manifest.json'));
        await vm.snapshot(again);
        n = counts(vm, tail).at(-1)!;
        await vm.resume();
        await shows(vm, new RegExp(`^COUNT ${n + 3}\n`, 'm'), 30_000);
        expect(vm.state).toBe('running');
      } finally {
        await vm.dispose();
      }
      const back = await Vm.restore(again, START);
      try {
        await back.resume();
        await shows(back, new RegExp(`^COUNT ${n + 2}\n`, 'm'), 30_000);
        // It goes on from the second snapshot (the pause may have cut the next line in two).
        expect(counts(back)[0]).toBeGreaterThan(n);
        expect(counts(back)[0]).toBeLessThanOrEqual(n + 2);
      } finally {
        await back.dispose();
      }
    }, 360_000);

    it("a serial file: the restored VM's output goes on after what it wrote there before the snapshot", async () => {
      const out = path.join(dir, 'serial.log');
      const fileSnap = path.join(dir, 'snap-file');
      const fileCounts = () =>
        [...fs.readFileSync(out, 'utf8').matchAll(/^COUNT (\d+)$/gm)].map((m) => Number(m[1]));
      const until = async (n: number) => {
        for (const t0 = Date.now(); !fileCounts().includes(n); await sleep(50))
          if (Date.now() - t0 > 60_000)
            throw new Error(`no COUNT ${n} in ${out}: ${fs.readFileSync(out, 'utf8')}`);
      };
      const config = Vmm.builder().kernel(guest).memory('128M').build();
      const vm = await Vm.start({ ...config, serial: { mode: 'file', path: out, max: 1 << 20 } }, START);
      try {
        await until(3);
        await vm.pause();
        await vm.snapshot(fileSnap);
      } finally {
        await vm.dispose();
      }
      const before = fs.readFileSync(out, 'utf8');
      const stopped = fileCounts().at(-1)!;
      const back = await Vm.restore(fileSnap, { ...START, serial: 'as-saved' });
      try {
        await back.resume();
        await until(stopped + 2);
      } finally {
        await back.dispose();
      }
      // Kept, and continued: every count once, in order (it was emptied before).
      expect(fs.readFileSync(out, 'utf8').startsWith(before)).toBe(true);
      const all = fileCounts();
      expect(all).toEqual(all.map((_, i) => all[0]! + i));
    }, 360_000);

    it('a guest writing to its serial port without a pause, snapshotted and restored twice in a row, prints every byte once', async () => {
      // The stream guest's exits are nearly all UART accesses, so each pause lands right after
      // one; a vCPU saved before KVM_RUN finished that `out` would print its byte again.
      const stream = (await buildGuests())['stream']!;
      let vm = await Vmm.builder().kernel(stream).memory('64M').console({ capture: true }).start(START);
      let joined = '';
      try {
        for (let round = 0; round < 2; round++) {
          await shows(vm, /^S \d+\n(?:.*\n){40}/m, 60_000);
          await vm.pause();
          const at = path.join(dir, `stream-${round}`);
          await vm.snapshot(at);
          await vm.dispose(); // after the run ended, its console holds everything it printed
          joined += vm.console.output;
          vm = await Vm.restore(at, START);
          await vm.resume();
        }
        await shows(vm, /^S \d+\n(?:.*\n){40}/m, 60_000);
      } finally {
        await vm.dispose();
      }
      joined += vm.console.output;
      const lines = joined.split('\n').slice(0, -1); // the last one may be cut short
      expect(lines[0]).toBe('STREAM-READY');
      const bad = lines.slice(1).findIndex((l, i) => l !== `S ${i + 1}`);
      expect(bad, `line ${bad + 1}: ${JSON.stringify(lines.slice(Math.max(bad, 0), bad + 3))}`).toBe(-1);
      expect(lines.length).toBeGreaterThan(120);
    }, 600_000);

    it('a corrupt, truncated, missing or other-version snapshot is refused and nothing starts', async () => {
      const copy = (name: string) => {
        const d = path.join(dir, name);
        fs.cpSync(snap, d, { recursive: true });
        return d;
      };
      const flipped = copy('flipped');
      const state = fs.readFileSync(path.join(flipped, 'kvm.state'));
      state[state.length - 9]! ^= 0x40;
      fs.writeFileSync(path.join(flipped, 'kvm.state'), state);
      await expect(Vm.restore(flipped)).rejects.toMatchObject({ code: 'ESNAPSHOTCORRUPT' });

      const truncated = copy('truncated');
      fs.truncateSync(path.join(truncated, 'memory'), 128 * 2 ** 20);
      await expect(Vm.restore(truncated)).rejects.toThrow(/truncated/);

      const page = copy('page');
      const fd = fs.openSync(path.join(page, 'memory'), 'r+');
      fs.writeSync(fd, Buffer.of(0x90), 0, 1, 200 * 2 ** 20); // a byte where the guest had nothing
      fs.closeSync(fd);
      await expect(Vm.restore(page)).rejects.toMatchObject({ code: 'ESNAPSHOTCORRUPT' });

      await expect(Vm.restore(path.join(dir, 'nowhere'))).rejects.toMatchObject({ code: 'ESNAPSHOTMISSING' });

      const version = copy('version');
      const m = JSON.parse(fs.readFileSync(path.join(version, 'manifest.json'), 'utf8'));
      fs.writeFileSync(path.join(version, 'manifest.json'), JSON.stringify({ ...m, version: 99 }));
      await expect(Vm.restore(version)).rejects.toMatchObject({ code: 'ESNAPSHOTVERSION' });

      // Edited with its checksum made to fit: COM1's lock word held (a restore that took it hung the
      // monitor at the first host input, SIGTERM unheard).
      const locked = copy('uart-locked');
      editDevices(locked, (devices) => {
        const uart = Buffer.from(devices.uart as string, 'base64');
        uart.writeInt32LE(1, 0);
        return { ...devices, uart: uart.toString('base64') };
      });
      await expect(Vm.restore(locked)).rejects.toMatchObject({
        code: 'ESNAPSHOTCORRUPT',
        message: expect.stringMatching(/COM1 state has a lock held/),
      });
    }, 60_000);

    it('a restore loads no kernel: with its kernel file turned to junk since, the VM comes back and counts on; its reboot fails on that file', async () => {
      const d = path.join(dir, 'junk-kernel');
      fs.cpSync(snap, d, { recursive: true });
      const junk = path.join(dir, 'junk-kernel.elf');
      fs.writeFileSync(junk, Buffer.alloc(4096, 0xcc));
      const manifest = path.join(d, 'manifest.json');
      const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { config: object };
      fs.writeFileSync(manifest, JSON.stringify({ ...m, config: { ...m.config, kernel: junk } }));
      const vm = await Vm.restore(d, START);
      try {
        await vm.resume();
        await vm.console.waitFor(new RegExp(`^COUNT ${last + 2}\\n`, 'm'), { timeoutMs: 30_000 });
        // A reboot loads that file, with its vCPU's thread already started: the VM ends with the
        // loader's error, and the thread is let go.
        await vm.reboot();
        const exit = await vm.exited;
        expect(exit).toMatchObject({ outcome: 'error', error: { code: 'EKERNELFORMAT' } });
      } finally {
        await vm.dispose();
      }
      // Booting that file is refused, as ever: the trial load a restore no longer makes.
      await expect(Vmm.builder().kernel(junk).start(START)).rejects.toMatchObject({ code: 'EKERNELFORMAT' });
    }, 120_000);
  });

  it('a guest in the middle of disk writes is snapshotted, restored in a new VM, and finishes with a consistent disk', async () => {
    const writer = (await buildGuests())['blk-writer']!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-snapshot-blk-'));
    const disk = path.join(dir, 'disk.img');
    fs.writeFileSync(disk, Buffer.alloc(1 << 20));
    const snap = path.join(dir, 'snap');
    try {
      // The log option: it hears the monitor's notices from the start (a device thread that failed).
      const booted: string[] = [];
      const vm = await Vmm.builder()
        .kernel(writer)
        .memory('128M')
        .disk({ path: disk, readonly: false })
        .console({ capture: true })
        .start({ ...START, log: (line) => booted.push(line) });
      try {
        await shows(vm, /^BLK-WRITE 5\n/m, 60_000, booted);
        await vm.pause();
        await vm.snapshot(snap);
      } finally {
        await vm.dispose(); // its console's last bytes are delivered by then
      }
      const before = vm.console.output;
      const last = [...before.matchAll(/^BLK-WRITE (\d+)$/gm)].map((m) => Number(m[1])).at(-1)!;
      expect(last).toBeLessThan(40); // paused in the middle of the writes, not after
      // A copy whose devices do not fit is refused, and lets go of the disk before it says so: the
      // restore right after opens the same image (its lock was still held, its thread loading).
      const unfit = path.join(dir, 'unfit');
      fs.cpSync(snap, unfit, { recursive: true });
      editDevices(unfit, (devices) => ({ ...devices, virtio: [] }));
      await expect(Vm.restore(unfit, START)).rejects.toMatchObject({ code: 'ESNAPSHOTMISMATCH' });
      // The guest keeps the disk's size it read at boot: an image resized since is refused,
      // smaller (its end would fail) or larger, and nothing of it is touched.
      const kept = fs.readFileSync(disk);
      for (const size of [512 << 10, 2 << 20]) {
        fs.truncateSync(disk, size);
        await expect(Vm.restore(snap, START)).rejects.toMatchObject({
          code: 'ESNAPSHOTMISMATCH',
          message: expect.stringMatching(
            `disk image ${disk} is ${size} bytes and was 1048576 when the snapshot`,
          ),
        });
        expect(fs.statSync(disk).size).toBe(size);
      }
      // Restored paused and resumed, then restored running (`resume`: its disk's thread must
      // serve from the start), each from the same disk contents.
      for (const resumeAtRestore of [false, true]) {
        fs.writeFileSync(disk, kept);
        // The log option, not the 'log' event: it hears the restore's own notices too.
        const notices: string[] = [];
        const back = await Vm.restore(snap, {
          ...START,
          resume: resumeAtRestore,
          log: (line) => notices.push(line),
        });
        try {
          expect(back.state).toBe(resumeAtRestore ? 'running' : 'paused');
          if (!resumeAtRestore) await back.resume();
          await shows(back, /^BLK-VERIFY (ok|bad \d+)\n/m, 120_000, notices);
          // It went on from where it stopped: the output before the snapshot and after the restore,
          // joined (the pause can fall in the middle of a line), reports every chunk once, in order.
          const joined = before + back.console.output;
          const writes = [...joined.matchAll(/^BLK-WRITE (\d+)$/gm)].map((m) => Number(m[1]));
          expect(writes).toEqual(Array.from({ length: 48 }, (_, i) => i));
          expect(back.console.output).toMatch(/^BLK-VERIFY ok$/m);
          expect((await back.exited).outcome).toBe('poweroff');
        } finally {
          await back.dispose();
        }
        // And the host sees every chunk where the guest put it.
        const bytes = fs.readFileSync(disk);
        for (let i = 0; i < 48; i++) {
          const chunk = bytes.subarray((64 + i * 8) * 512, (64 + i * 8) * 512 + 4096);
          expect(chunk.readUInt16LE(0), `chunk ${i}`).toBe(i);
          expect(chunk[100]).toBe((i * 13 + 100) & 0xff);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 480_000);
});

/** Rewrite a snapshot's devices.json through `edit`, with its manifest entry made to fit. */
function editDevices(dir: string, edit: (devices: Record<string, unknown>) => Record<string, unknown>): void {
  const file = path.join(dir, 'devices.json');
  const edited = Buffer.from(JSON.stringify(edit(JSON.parse(fs.readFileSync(file, 'utf8')))));
  fs.writeFileSync(file, edited);
  const manifestFile = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  m.files['devices.json'] = { size: edited.length, crc32: zlib.crc32(edited).toString(16).padStart(8, '0') };
  fs.writeFileSync(manifestFile, JSON.stringify(m));
}
