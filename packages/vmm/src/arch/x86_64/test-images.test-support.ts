// Test-only kernel images: real ELF guests built with gcc from test-fixtures/, and synthetic
// bzImages laid out per Documentation/arch/x86/boot.rst (setup header at 0x1f1, the protected-mode
// kernel after (setup_sects + 1) sectors).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const FIXTURES = path.join(import.meta.dirname, 'test-fixtures');

export const hasGcc = spawnSync('gcc', ['--version']).status === 0;

let outDir: string | undefined;

/** Assemble and link test-fixtures/<name>.S with its <name>.ld; `defines` become -D flags. */
export function buildGuestElf(
  name: 'pvh-guest' | 'long-mode-guest' | 'boot-plan-stub',
  defines: string[] = [],
): Uint8Array {
  outDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-x86-boot-'));
  const out = path.join(outDir, `${name}${defines.map((d) => `-${d}`).join('')}.elf`);
  if (!fs.existsSync(out)) {
    execFileSync('gcc', [
      '-nostdlib',
      '-static',
      '-no-pie',
      '-Wl,--build-id=none',
      `-Wl,-T,${path.join(FIXTURES, `${name}.ld`)}`,
      ...defines.map((d) => `-D${d}`),
      '-o',
      out,
      path.join(FIXTURES, `${name}.S`),
    ]);
  }
  return new Uint8Array(fs.readFileSync(out));
}

/** Assemble test-fixtures/<name>.S into a flat binary of its .text (for a bzImage's kernel part). */
export function buildFlatBinary(name: 'bzimage-payload'): Uint8Array {
  outDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-x86-boot-'));
  const obj = path.join(outDir, `${name}.o`);
  const out = path.join(outDir, `${name}.bin`);
  if (!fs.existsSync(out)) {
    execFileSync('gcc', ['-c', '-o', obj, path.join(FIXTURES, `${name}.S`)]);
    execFileSync('objcopy', ['-O', 'binary', '-j', '.text', obj, out]);
  }
  return new Uint8Array(fs.readFileSync(out));
}

export function removeBuiltGuests(): void {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  outDir = undefined;
}

export interface BzImageOptions {
  version?: number;
  loadflags?: number;
  xloadflags?: number;
  setupSects?: number;
  prefAddress?: bigint;
  code32Start?: number;
  kernelAlignment?: number;
  relocatable?: number;
  initSize?: number;
  initrdAddrMax?: number;
  cmdlineSize?: number;
  kernelSize?: number;
  /** High byte of `jump` at 0x200: the setup header ends at 0x202 + this. */
  headerEndByte?: number;
  /** The protected-mode kernel; default: a byte pattern with BZ_STARTUP_64_MARKER at 0x200. */
  kernel?: Uint8Array;
}

/** Where the test writes a marker in the protected-mode kernel: startup_64 at offset 0x200. */
export const BZ_STARTUP_64_MARKER = 0xfeedf00d;

/** A bzImage as boot.rst lays it out, with defaults like a 6.1 x86_64 kernel's. */
export function makeBzImage(o: BzImageOptions = {}): Uint8Array {
  const setupSects = o.setupSects ?? 27;
  const kernelOffset = ((setupSects || 4) + 1) * 512;
  const kernelSize = o.kernel?.length ?? o.kernelSize ?? 0x4000;
  const bytes = new Uint8Array(kernelOffset + kernelSize);
  const v = new DataView(bytes.buffer);
  bytes[0] = 0x4d; // "MZ": real bzImages carry a PE header for the EFI stub
  bytes[1] = 0x5a;
  v.setUint8(0x1f1, setupSects);
  v.setUint16(0x1fe, 0xaa55, true); // boot_flag
  v.setUint8(0x200, 0xeb); // jump: a short jmp over the header
  v.setUint8(0x201, o.headerEndByte ?? 0x6a);
  v.setUint32(0x202, 0x53726448, true); // "HdrS"
  v.setUint16(0x206, o.version ?? 0x020f, true);
  v.setUint8(0x211, o.loadflags ?? 0x01); // LOADED_HIGH
  v.setUint32(0x214, o.code32Start ?? 0x100000, true);
  v.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  v.setUint32(0x230, o.kernelAlignment ?? 0x200000, true);
  v.setUint8(0x234, o.relocatable ?? 1);
  v.setUint16(0x236, o.xloadflags ?? 0x7f, true); // XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G | ...
  v.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  v.setBigUint64(0x258, o.prefAddress ?? 0x1000000n, true);
  v.setUint32(0x260, o.initSize ?? 0x80_0000, true);
  if (o.kernel) {
    bytes.set(o.kernel, kernelOffset);
  } else {
    // A byte pattern, and a marker where startup_64 would be.
    for (let i = 0; i < kernelSize; i++) bytes[kernelOffset + i] = (i * 7 + 3) & 0xff;
    if (kernelSize >= 0x204) v.setUint32(kernelOffset + 0x200, BZ_STARTUP_64_MARKER, true);
  }
  return bytes;
}
