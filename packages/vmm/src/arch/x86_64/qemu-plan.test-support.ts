// Test-only: run a BootPlan on a real x86 CPU model (QEMU under TCG, no KVM needed). The image
// holds the plan's register state and the guest memory loadKernel wrote; test-fixtures/
// boot-plan-stub.S, booted by QEMU through PVH with the image as its module, copies the memory in
// place, loads the plan's GDT, control registers and segments, and jumps to the entry.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GuestMemory } from '@vmm/hypervisor';
import type { BootPlan } from './loader';
import { QEMU } from '../../../../../test-vms/src/qemu-host.test-support';

export { QEMU, hasQemu } from '../../../../../test-vms/src/qemu-host.test-support';

const MAGIC = 0x494d4d56; // "VMMI"
const HEADER_SIZE = 64;

/** The image the stub reads: the plan's state, then [address, length, bytes] chunks of memory. */
export function planImage(
  memory: GuestMemory,
  plan: BootPlan,
  ranges: readonly [number, number][],
): Uint8Array {
  const chunks = ranges.map(([address, length]) => ({ address, bytes: memory.slice(address, length)! }));
  const size = HEADER_SIZE + chunks.reduce((n, c) => n + 8 + Math.ceil(c.bytes.length / 4) * 4, 0);
  const image = new Uint8Array(size);
  const v = new DataView(image.buffer);
  const u32 = (at: number, value: bigint) => v.setUint32(at, Number(value & 0xffff_ffffn), true);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, chunks.length, true);
  u32(8, plan.sregs.cr0);
  u32(12, plan.sregs.cr3);
  u32(16, plan.sregs.cr4);
  u32(20, plan.sregs.efer);
  u32(32, plan.regs.rip);
  v.setUint16(36, plan.sregs.cs.selector, true);
  u32(40, plan.regs.rsi);
  u32(44, plan.regs.rbx);
  u32(48, plan.regs.rsp);
  v.setUint16(52, plan.sregs.ds.selector, true);
  v.setUint16(56, plan.sregs.gdt.limit, true);
  u32(58, plan.sregs.gdt.base);
  let at = HEADER_SIZE;
  for (const c of chunks) {
    v.setUint32(at, c.address, true);
    v.setUint32(at + 4, c.bytes.length, true);
    image.set(c.bytes, at + 8);
    at += 8 + Math.ceil(c.bytes.length / 4) * 4;
  }
  return image;
}

/**
 * Boot the stub with the image under QEMU microvm (TCG); resolves with QEMU's exit status (null when
 * killed at the timeout) and COM1 output. QEMU's RAM must exceed the plan's: QEMU puts the image
 * at its top, out of the plan's way. Asynchronous, so a long boot does not block the test worker.
 * `until`: stop QEMU as soon as the output matches (a guest that reboots would start over).
 */
export async function runInQemu(
  stubElf: Uint8Array,
  image: Uint8Array,
  { ramMiB = 128, timeoutMs = 30_000, until = undefined as RegExp | undefined } = {},
): Promise<{ status: number | null; serial: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-qemu-plan-'));
  try {
    fs.writeFileSync(path.join(dir, 'stub.elf'), stubElf);
    fs.writeFileSync(path.join(dir, 'image.bin'), image);
    const child = spawn(
      QEMU,
      [
        ...['-M', 'microvm', '-m', `${ramMiB}M`, '-no-reboot'],
        ...['-nodefaults', '-no-user-config', '-display', 'none'],
        ...['-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4'],
        ...['-kernel', path.join(dir, 'stub.elf'), '-initrd', path.join(dir, 'image.bin')],
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let serial = '';
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      serial += chunk;
      if (until?.test(serial)) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    });
    clearTimeout(timer);
    return { status, serial };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
