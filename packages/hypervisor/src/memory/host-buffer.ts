// A large buffer that lives for a moment (a kernel or an initrd read from its file, then copied
// into guest RAM) and must give its memory back when it is done, not whenever V8 next collects:
// an anonymous mapping, populated when it is made and unmapped by free(). Populating it in the
// mmap call is one kernel call instead of a page fault per page: a 17.6 MB vmlinux read into it
// took 30 ms here, against 52 ms for readFileSync's fresh buffer (fresh processes, medians of 7).
// Where mmap is not available (not Linux) it is a plain array the collector frees.
import { MAX_VIEW_BYTES } from './mapped-guest-memory';
import {
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  hostView,
  libc,
} from '../sys/libc';

export class HostBuffer {
  private view: Uint8Array;
  private mapped: bigint | undefined;

  private constructor(view: Uint8Array, mapped: bigint | undefined) {
    this.view = view;
    this.mapped = mapped;
  }

  /** `length` zeroed bytes. */
  static alloc(length: number): HostBuffer {
    if (process.platform === 'linux' && length > 0 && length <= MAX_VIEW_BYTES) {
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
      const addr = libc().mmap(null, length, PROT_READ | PROT_WRITE, flags, -1, 0);
      if (addr !== MAP_FAILED) return new HostBuffer(new Uint8Array(hostView(addr, length)), addr);
    }
    return new HostBuffer(new Uint8Array(length), undefined);
  }

  /** The bytes; valid until free(): keep no view of them past it (the memory is unmapped). */
  get bytes(): Uint8Array {
    return this.view;
  }

  /** Gives the memory back. Idempotent. */
  free(): void {
    const length = this.view.length;
    this.view = new Uint8Array(0);
    if (this.mapped !== undefined) libc().munmap(this.mapped, length);
    this.mapped = undefined;
  }
}
