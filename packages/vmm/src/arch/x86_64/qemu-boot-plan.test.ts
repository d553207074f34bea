// The boot plans run on a real x86 CPU model: QEMU (TCG) executes the state loadKernel planned,
// with the GDT, page tables, zero page and start_info it wrote, and the guests report on COM1
// what they found. This is what KVM would run, minus KVM.
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { loadKernel } from './loader';
import { memoryLayout } from './memory-map';
import { hasQemu, planImage, runInQemu } from './qemu-plan.test-support';
import {
  buildFlatBinary,
  buildGuestElf,
  hasGcc,
  makeBzImage,
  removeBuiltGuests,
} from './test-images.test-support';

const canRun = hasQemu && hasGcc;
if (!canRun) console.warn('SKIP (no qemu-system-x86_64 or gcc): boot plans on QEMU TCG');

const MiB = 1024 * 1024;
const RAM = 64 * MiB;
const CMDLINE = 'console=ttyS0 root=/dev/vda -- marker-1234';

describe.skipIf(!canRun)('boot plans on QEMU (TCG)', () => {
  afterAll(removeBuiltGuests);

  const kernels = {
    'PVH ELF': () => buildGuestElf('pvh-guest'),
    'ELF without PVH note': () => buildGuestElf('long-mode-guest'),
    bzImage: () => makeBzImage({ kernel: buildFlatBinary('bzimage-payload') }),
  };
  for (const [name, kind, banner] of [
    ['PVH ELF', 'pvh', 'PVH OK'],
    ['ELF without PVH note', 'linux-64', 'LONG MODE OK'],
    ['bzImage', 'linux-64', 'LONG MODE OK'],
  ] as const) {
    it(`${name}: the ${kind} entry state works and the guest reads its command line`, async () => {
      const memory = new ArrayGuestMemory(memoryLayout(RAM));
      const kernel = kernels[name]();
      const plan = loadKernel(memory, kernel, {
        cmdline: CMDLINE,
        initrd: new Uint8Array(4096).fill(0x42),
        rsdpAddress: 0xe0000,
        ramSize: RAM,
      });
      expect(plan.entryKind).toBe(kind);
      const image = planImage(memory, plan, [
        [0x500, 0x30000 - 0x500], // GDT, start_info, zero page, stack, page tables, command line
        [plan.kernel.address, Math.min(plan.kernel.size, kernel.length)],
        [plan.initrd!.address, plan.initrd!.size],
      ]);
      const { status, serial } = await runInQemu(buildGuestElf('boot-plan-stub'), image);
      expect(serial).toBe(`${CMDLINE}\n${banner}\n`);
      expect(status).toBe(99);
    });
  }
});
