// Real Linux kernels: the ones test-vms builds (vmlinux with the PVH note and a bzImage of the same
// build), or any given in VMM_TEST_VMLINUX / VMM_TEST_BZIMAGE. Each is loaded as `vmm run` would,
// then its boot plan runs on QEMU (TCG) until Linux prints the command line and memory map we gave it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf } from './elf';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { isLinuxKernel } from './kernel-kind';
import type { KernelSource } from './kernel-source';
import { loadKernel } from './loader';
import { memoryLayout } from './memory-map';
import { hasQemu, planImage, runInQemu } from './qemu-plan.test-support';
import { buildGuestElf, hasGcc } from './test-images.test-support';

const MiB = 1024 * 1024;
const RAM = 128 * MiB;
const CMDLINE = 'console=ttyS0 earlyprintk=serial acpi=off panic=-1 nokaslr vmm-marker=42';

/** The newest file `name` under <cache>/kernel/<key>/ (test-vms/src/cache.ts decides <cache>). */
function cachedKernel(name: string, envVar: string): string | undefined {
  const given = process.env[envVar];
  if (given) return given;
  const base =
    process.env.VMM_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'vmm-test-vms');
  const dir = path.join(base, 'kernel');
  if (!fs.existsSync(dir)) return undefined;
  const found = fs
    .readdirSync(dir)
    .map((d) => path.join(dir, d, name))
    .filter((f) => fs.existsSync(f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return found[0];
}

const kernels = {
  vmlinux: cachedKernel('vmlinux', 'VMM_TEST_VMLINUX'),
  bzImage: cachedKernel('bzImage', 'VMM_TEST_BZIMAGE'),
};
const canQemu = hasQemu && hasGcc;
const missing = [
  ...Object.entries(kernels)
    .filter(([, file]) => !file)
    .map(([name]) => `no ${name} (build it with test-vms, or set VMM_TEST_${name.toUpperCase()})`),
  ...(canQemu ? [] : ['no qemu-system-x86_64 or gcc']),
];
if (missing.length > 0)
  console.warn(`SKIP (${missing.join('; ')}): real Linux kernels loaded and booted on QEMU TCG`);

describe('real Linux kernels', () => {
  for (const [name, format] of [
    ['vmlinux', 'elf-pvh'],
    ['bzImage', 'bzimage'],
  ] as const) {
    const file = kernels[name];

    it.skipIf(!file)(`${name}: loads as ${format}`, () => {
      const bytes = new Uint8Array(fs.readFileSync(file!));
      const memory = new ArrayGuestMemory(memoryLayout(RAM));
      const plan = loadKernel(memory, bytes, { cmdline: CMDLINE, ramSize: RAM });
      expect(plan.format).toBe(format);
      expect(plan.kernel.address).toBeGreaterThanOrEqual(0x100000);
      if (format === 'bzimage') expect(plan.entryAddress).toBe(plan.kernel.address + 0x200);
      else expect(plan.entryAddress).toBeGreaterThan(plan.kernel.address);
      // Known as Linux without a scan for its banner: a vmlinux by its "Linux" note.
      if (format !== 'bzimage') expect(parseElf(bytes).linuxNote).toBe(true);
      expect(isLinuxKernel(bytes)).toBe(true);
    });

    it.skipIf(!file)(
      `${name}: loaded from its open file (headers read on demand, the kernel read straight into guest RAM) as from its bytes; a check-only load writes nothing`,
      () => {
        const bytes = new Uint8Array(fs.readFileSync(file!));
        const fromBytes = new ArrayGuestMemory(memoryLayout(RAM));
        const planA = loadKernel(fromBytes, bytes, { cmdline: CMDLINE, ramSize: RAM });
        const fd = fs.openSync(file!, 'r');
        let reads = 0;
        const source: KernelSource = {
          length: fs.fstatSync(fd).size,
          readInto(into, offset) {
            reads++;
            expect(fs.readSync(fd, into, 0, into.length, offset)).toBe(into.length);
          },
        };
        try {
          const fromFile = new ArrayGuestMemory(memoryLayout(RAM));
          const planB = loadKernel(fromFile, source, { cmdline: CMDLINE, ramSize: RAM });
          expect(planB).toEqual(planA);
          fromFile.regions.forEach((r, i) =>
            expect(Buffer.compare(r.bytes, fromBytes.regions[i]!.bytes)).toBe(0),
          );
          expect(isLinuxKernel(source)).toBe(true);
          // Headers and notes a window at a time, then one read per segment: never the whole file.
          expect(reads).toBeLessThan(20);
          const dry = new ArrayGuestMemory(memoryLayout(RAM));
          const before = reads;
          expect(loadKernel(dry, source, { cmdline: CMDLINE, ramSize: RAM, checkOnly: true })).toEqual(planA);
          expect(dry.slice(planA.kernel.address, 4096)?.every((b) => b === 0)).toBe(true);
          expect(reads - before).toBeLessThan(10);
        } finally {
          fs.closeSync(fd);
        }
      },
    );

    it.skipIf(!file || !canQemu)(
      `${name}: Linux boots from the plan and sees our command line and memory map`,
      async () => {
        const bytes = new Uint8Array(fs.readFileSync(file!));
        const memory = new ArrayGuestMemory(memoryLayout(RAM));
        const plan = loadKernel(memory, bytes, { cmdline: CMDLINE, ramSize: RAM });
        const loaded = format === 'bzimage' ? bytes.length : plan.kernel.size;
        const image = planImage(memory, plan, [
          [0x500, 0x30000 - 0x500],
          [plan.kernel.address, Math.min(plan.kernel.size, loaded)],
        ]);
        const { serial } = await runInQemu(buildGuestElf('boot-plan-stub'), image, {
          ramMiB: 512,
          timeoutMs: 100_000,
          until: /Kernel panic|Run \/sbin\/init/, // no initrd: the kernel gets to init, then panics
        });
        if (process.env.VMM_TEST_VERBOSE) console.log(serial);
        expect(serial).toContain('Linux version');
        expect(serial).toContain(`Command line: ${CMDLINE}`);
        // The E820 map we handed over, as Linux prints it.
        expect(serial).toMatch(/\[mem 0x0000000000000000-0x000000000009fbff\] usable/);
        expect(serial).toMatch(/\[mem 0x000000000009fc00-0x00000000000fffff\] reserved/);
        expect(serial).toMatch(/\[mem 0x0000000000100000-0x0000000007ffffff\] usable/);
        expect(serial).toMatch(/Kernel panic|Run \/sbin\/init/);
      },
      120_000,
    );
  }
});
