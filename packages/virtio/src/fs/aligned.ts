// Buffers whose data part starts on a page boundary: the kernel copies READ and WRITE data between
// our buffers and page-aligned page-cache pages, and a copy to or from a misaligned address is
// slower (rep movsb runs fastest on aligned destinations). fuse_in_header + fuse_write_in come
// before a WRITE's data, fuse_out_header before a READ's.
import { fsAt } from '@vmm/hypervisor';

const PAGE = 4096;

/** `size` bytes (zeroed) whose byte `dataAt` lies on a page boundary. */
export function alignedBuffer(size: number, dataAt: number): Uint8Array {
  const raw = new Uint8Array(size + PAGE);
  const addr = Number(fsAt().addressOf(raw) % BigInt(PAGE));
  const start = (PAGE - ((addr + dataAt) % PAGE)) % PAGE;
  return raw.subarray(start, start + size);
}
