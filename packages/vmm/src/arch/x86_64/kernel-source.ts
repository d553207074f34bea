// A kernel as the loaders read it: either its bytes in memory, or a file read on demand (small
// reads for the headers, bulk copies straight into guest RAM, as rust-vmm's linux-loader reads
// segments with read_exact_at), so that a 17.6 MB vmlinux is not first copied into a buffer.
import { GuestMemoryError, type GuestMemory } from '@vmm/hypervisor';

export interface KernelSource {
  /** The file's length in bytes. */
  readonly length: number;
  /** Fills `into` with [offset, offset + into.length) of the file; throws when it is shorter. */
  readInto(into: Uint8Array, offset: number): void;
}

/** A kernel given as bytes, or as a source. */
export type KernelInput = Uint8Array | KernelSource;

/** The first `len` bytes of the kernel (fewer when it is shorter). */
export function kernelHead(input: KernelInput, len: number): Uint8Array {
  if (input instanceof Uint8Array) return input.subarray(0, Math.min(len, input.length));
  const head = new Uint8Array(Math.min(len, input.length));
  input.readInto(head, 0);
  return head;
}

/**
 * Copies [offset, offset + len) of the kernel to guest address `gpa`. The range must be in guest
 * RAM; with `checkOnly` (a dry run) that is all that happens.
 */
export function copyKernelToGuest(
  memory: GuestMemory,
  gpa: number,
  input: KernelInput,
  offset: number,
  len: number,
  checkOnly = false,
): void {
  if (!memory.contains(gpa, len)) throw new GuestMemoryError(gpa, len);
  if (checkOnly || len === 0) return;
  if (input instanceof Uint8Array) {
    memory.write(gpa, input.subarray(offset, offset + len));
    return;
  }
  const view = memory.slice(gpa, len);
  if (view) {
    input.readInto(view, offset);
    return;
  }
  // Across a region boundary (not where kernels load): through a buffer.
  const bytes = new Uint8Array(len);
  input.readInto(bytes, offset);
  memory.write(gpa, bytes);
}
