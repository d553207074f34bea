// Decoding kvm_run after KVM_RUN into the VmExit objects, preallocated once per vCPU mapping and
// refilled on every exit: nothing is allocated per exit (io and mmio data are cached views into
// the kvm_run page, made the first time an offset/length pair is seen).
import type { IoExit, MmioExit, SystemEventType, VmExit } from '../types';
import {
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_HLT,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_SYSTEM_EVENT_CRASH,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
} from './constants';
import {
  RUN_EXIT_REASON,
  RUN_FAIL_ENTRY_REASON,
  RUN_INTERNAL_DATA,
  RUN_INTERNAL_DATA_MAX,
  RUN_INTERNAL_NDATA,
  RUN_INTERNAL_SUBERROR,
  RUN_IO_COUNT,
  RUN_IO_DATA_OFFSET,
  RUN_IO_DIRECTION,
  RUN_IO_PORT,
  RUN_IO_SIZE,
  RUN_MMIO_DATA,
  RUN_MMIO_DATA_SIZE,
  RUN_MMIO_IS_WRITE,
  RUN_MMIO_LEN,
  RUN_MMIO_PHYS_ADDR,
  RUN_SYSTEM_EVENT_TYPE,
} from './structs/run';

type Internal = { kind: 'internal-error'; suberror: number; data: bigint[] };
type SystemEvent = { kind: 'system-event'; type: SystemEventType; raw: number };

/** A u64 as a number without making a BigInt (exact below 2^53, which guest addresses are). */
const u64 = (v: DataView, at: number): number => v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;

export const INTERRUPTED: VmExit = Object.freeze({ kind: 'interrupted' });

export class ExitDecoder {
  private readonly io: IoExit;
  private readonly mmio: MmioExit;
  private readonly hlt: VmExit = { kind: 'hlt' };
  private readonly shutdown: VmExit = { kind: 'shutdown' };
  private readonly systemEvent: SystemEvent = { kind: 'system-event', type: 'other', raw: 0 };
  private readonly internal: Internal = { kind: 'internal-error', suberror: 0, data: [] };
  private readonly failEntry = { kind: 'fail-entry' as const, reason: 0n };
  private readonly unknown = { kind: 'unknown' as const, reason: 0 };
  private readonly ioViews = new Map<number, Uint8Array>();
  private readonly mmioViews: Uint8Array[] = [];
  private readonly empty = new Uint8Array(0);

  /** `page` and `view` cover the whole kvm_run mapping (KVM_GET_VCPU_MMAP_SIZE bytes). */
  constructor(
    private readonly page: Uint8Array,
    private readonly view: DataView,
  ) {
    for (let len = 0; len <= RUN_MMIO_DATA_SIZE; len++) {
      this.mmioViews.push(page.subarray(RUN_MMIO_DATA, RUN_MMIO_DATA + len));
    }
    this.io = { kind: 'io', direction: 'in', port: 0, size: 1, count: 1, data: this.empty };
    this.mmio = { kind: 'mmio', direction: 'read', address: 0, len: 0, data: this.mmioViews[0]! };
  }

  /** The exit KVM_RUN just reported (it returned 0). */
  decode(): VmExit {
    const v = this.view;
    const reason = v.getUint32(RUN_EXIT_REASON, true);
    switch (reason) {
      case KVM_EXIT_IO: {
        const size = v.getUint8(RUN_IO_SIZE);
        const count = v.getUint32(RUN_IO_COUNT, true);
        const data = this.ioData(u64(v, RUN_IO_DATA_OFFSET), size * count);
        if (!data) return this.unknownExit(reason);
        const io = this.io;
        io.direction = v.getUint8(RUN_IO_DIRECTION) === KVM_EXIT_IO_OUT ? 'out' : 'in';
        io.port = v.getUint16(RUN_IO_PORT, true);
        io.size = size;
        io.count = count;
        io.data = data;
        return io;
      }
      case KVM_EXIT_MMIO: {
        const len = v.getUint32(RUN_MMIO_LEN, true);
        if (len > RUN_MMIO_DATA_SIZE) return this.unknownExit(reason);
        const m = this.mmio;
        m.direction = v.getUint8(RUN_MMIO_IS_WRITE) !== 0 ? 'write' : 'read';
        m.address = u64(v, RUN_MMIO_PHYS_ADDR);
        m.len = len;
        m.data = this.mmioViews[len]!;
        return m;
      }
      case KVM_EXIT_HLT:
        return this.hlt;
      case KVM_EXIT_SHUTDOWN:
        return this.shutdown;
      case KVM_EXIT_INTR:
        return INTERRUPTED;
      case KVM_EXIT_SYSTEM_EVENT: {
        const raw = v.getUint32(RUN_SYSTEM_EVENT_TYPE, true);
        const e = this.systemEvent;
        e.raw = raw;
        e.type =
          raw === KVM_SYSTEM_EVENT_SHUTDOWN
            ? 'shutdown'
            : raw === KVM_SYSTEM_EVENT_RESET
              ? 'reset'
              : raw === KVM_SYSTEM_EVENT_CRASH
                ? 'crash'
                : 'other';
        return e;
      }
      case KVM_EXIT_INTERNAL_ERROR: {
        // Rare and fatal: allocating the data array here is fine.
        const e = this.internal;
        e.suberror = v.getUint32(RUN_INTERNAL_SUBERROR, true);
        const n = Math.min(v.getUint32(RUN_INTERNAL_NDATA, true), RUN_INTERNAL_DATA_MAX);
        e.data = [];
        for (let i = 0; i < n; i++) e.data.push(v.getBigUint64(RUN_INTERNAL_DATA + i * 8, true));
        return e;
      }
      case KVM_EXIT_FAIL_ENTRY:
        this.failEntry.reason = v.getBigUint64(RUN_FAIL_ENTRY_REASON, true);
        return this.failEntry;
      default:
        return this.unknownExit(reason);
    }
  }

  private unknownExit(reason: number): VmExit {
    this.unknown.reason = reason;
    return this.unknown;
  }

  /** The view of [offset, offset+len) of the kvm_run page, cached; undefined if outside it. */
  private ioData(offset: number, len: number): Uint8Array | undefined {
    const pageLen = this.page.length;
    if (!(offset >= 0 && len >= 0 && offset + len <= pageLen)) return undefined;
    const key = offset * (pageLen + 1) + len;
    let view = this.ioViews.get(key);
    if (!view) {
      view = this.page.subarray(offset, offset + len);
      this.ioViews.set(key, view);
    }
    return view;
  }
}
