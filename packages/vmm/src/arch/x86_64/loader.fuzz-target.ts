// Fuzz target: the kernel loaders (loader.ts choosing between elf.ts and bzimage.ts) on any bytes as
// the kernel file, loaded twice: into a DryRunMemory (the pre-flight check `vmm run` does before it
// opens /dev/kvm) and into real 16 MiB guest RAM.
// Contract: each load returns a boot plan or throws a VmmError (a typed, explained error), never
// anything else (a RangeError from a DataView, a TypeError); and the dry run agrees with the real
// load: the same error code, or the same plan. A dry run that passes a kernel the real load refuses
// (or the reverse) would let `vmm run` fail late, or refuse a kernel that boots.
import { VmmError } from '@vmm/hypervisor';
import { DryRunMemory } from '../../machine/dry-run-memory';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { loadKernel, type BootPlan } from './loader';
import { memoryLayout } from './memory-map';

const RAM = 16 * 1024 * 1024;
const layout = memoryLayout(RAM);
const dry = new DryRunMemory(layout);
const real = new ArrayGuestMemory(layout);
const options = { cmdline: 'console=ttyS0 panic=-1', initrd: new Uint8Array(4096).fill(0x5a), ramSize: RAM };

function load(memory: DryRunMemory | ArrayGuestMemory, data: Uint8Array): BootPlan | VmmError {
  try {
    return loadKernel(memory, data, options);
  } catch (e) {
    if (e instanceof VmmError) return e;
    throw e; // a RangeError or TypeError escaped: the contract is broken, and its stack says where
  }
}

/** What must be equal between the dry run and the real load. */
function summary(p: BootPlan | VmmError): string {
  if (p instanceof VmmError) return `error ${p.code}`;
  const at = (x: { address: number; size: number } | undefined): string =>
    x ? `${x.address}+${x.size}` : '-';
  return [
    p.format,
    p.entryKind,
    p.entryAddress,
    at(p.kernel),
    at(p.initrd),
    at(p.cmdline),
    at(p.bootInfo),
  ].join(' ');
}

export function fuzz(data: Uint8Array): void {
  const a = summary(load(dry, data));
  const b = summary(load(real, data));
  if (a !== b) throw new Error(`contract: the dry run (${a}) and the real load (${b}) disagree`);
}

export function seeds(): Uint8Array[] {
  return [bzImage(), elf(true), elf(false)];
}

/** A bzImage as Documentation/arch/x86/boot.rst lays it out: one setup sector, 512 bytes of kernel. */
function bzImage(): Uint8Array {
  const b = new Uint8Array(1024 + 512);
  const v = new DataView(b.buffer);
  b.set([0x4d, 0x5a]); // "MZ": the EFI stub's PE header starts here
  v.setUint8(0x1f1, 1); // setup_sects
  v.setUint16(0x1fe, 0xaa55, true); // boot_flag
  v.setUint16(0x200, 0x6aeb, true); // jump: the header ends at 0x202 + 0x6a
  v.setUint32(0x202, 0x53726448, true); // "HdrS"
  v.setUint16(0x206, 0x020f, true); // protocol 2.15
  v.setUint8(0x211, 0x01); // loadflags: LOADED_HIGH
  v.setUint32(0x214, 0x100000, true); // code32_start
  v.setUint32(0x22c, 0x7fffffff, true); // initrd_addr_max
  v.setUint32(0x230, 0x200000, true); // kernel_alignment
  v.setUint8(0x234, 1); // relocatable_kernel
  v.setUint16(0x236, 0x7f, true); // xloadflags: XLF_KERNEL_64 and friends
  v.setUint32(0x238, 2047, true); // cmdline_size
  v.setBigUint64(0x258, 0x1000000n, true); // pref_address
  v.setUint32(0x260, 0x100000, true); // init_size
  return b;
}

/** An ELF64 x86_64 executable (elf(5)): one PT_LOAD at 1 MiB, and with `pvh` Xen's PHYS32_ENTRY note. */
function elf(pvh: boolean): Uint8Array {
  const phnum = pvh ? 2 : 1;
  const code = 0x40 + 0x38 * phnum;
  const note = code + 16;
  const b = new Uint8Array(note + (pvh ? 20 : 0));
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]); // \x7fELF, ELFCLASS64, little-endian, version 1
  v.setUint16(0x10, 2, true); // ET_EXEC
  v.setUint16(0x12, 62, true); // EM_X86_64
  v.setUint32(0x14, 1, true);
  v.setBigUint64(0x18, 0x100000n, true); // e_entry
  v.setBigUint64(0x20, 0x40n, true); // e_phoff
  v.setUint16(0x34, 0x40, true); // e_ehsize
  v.setUint16(0x36, 0x38, true); // e_phentsize
  v.setUint16(0x38, phnum, true);
  const ph = (i: number, type: number, offset: number, size: number, memsz: number): void => {
    const o = 0x40 + 0x38 * i;
    v.setUint32(o, type, true);
    v.setUint32(o + 4, 5, true); // R+X
    v.setBigUint64(o + 8, BigInt(offset), true);
    v.setBigUint64(o + 0x10, BigInt(0x100000 + offset), true);
    v.setBigUint64(o + 0x18, BigInt(0x100000 + offset), true);
    v.setBigUint64(o + 0x20, BigInt(size), true);
    v.setBigUint64(o + 0x28, BigInt(memsz), true);
  };
  ph(0, 1, 0, b.length, b.length + 0x1000); // PT_LOAD, with a .bss
  b.set([0xfa, 0xf4, 0xeb, 0xfd], code); // cli; hlt; jmp .-1
  if (pvh) {
    ph(1, 4, note, 20, 20); // PT_NOTE
    v.setUint32(note, 4, true); // namesz: "Xen\0"
    v.setUint32(note + 4, 4, true); // descsz
    v.setUint32(note + 8, 18, true); // XEN_ELFNOTE_PHYS32_ENTRY
    b.set([0x58, 0x65, 0x6e, 0], note + 12);
    v.setUint32(note + 16, 0x100000 + code, true);
  }
  return b;
}
