// Parser for the virtio test guests' lines (test-vms/guests/virtio/blk_report.h, irq.h,
// blk-bench.c, virtio-rng.c, virtio-console.c).

export interface BlkStatus {
  op: string;
  sector: number;
  status: number;
}

/** One `BENCH <phase> end bytes=N ops=N` line of blk-bench. */
export interface BenchPhase {
  phase: string;
  bytes: number;
  ops: number;
}

export interface VirtioGuestOutput {
  capacity?: number;
  serial?: string;
  statuses: BlkStatus[];
  sha256?: string;
  rng?: string;
  rngNonZero?: number;
  hvcUsed?: number;
  /** `IRQS n=N`: device interrupts the guest took. */
  irqs?: number;
  /** `VIRTQ-TIMEOUT`: a request was never completed (no interrupt) within the guest's watchdog. */
  timeout: boolean;
  /** blk-bench: the phases that began, in order, and those that ended with their counts. */
  benchBegun: string[];
  benchEnded: BenchPhase[];
  errors: string[];
  done: boolean;
}

/** Parses COM1 output of blk-pattern, blk-read, blk-bench, virtio-rng and virtio-console. */
export function parseVirtioOutput(raw: string): VirtioGuestOutput {
  const o: VirtioGuestOutput = {
    statuses: [],
    timeout: false,
    benchBegun: [],
    benchEnded: [],
    errors: [],
    done: false,
  };
  for (const l of raw.split('\n').map((s) => s.replace(/\r$/, ''))) {
    let m: RegExpMatchArray | null;
    if ((m = /^BLK capacity=(\d+) serial=(.*)$/.exec(l))) {
      o.capacity = Number(m[1]);
      o.serial = m[2];
    } else if ((m = /^BLK-STATUS op=(\w+) sector=(\d+) status=(\d+)$/.exec(l))) {
      o.statuses.push({ op: m[1] as string, sector: Number(m[2]), status: Number(m[3]) });
    } else if ((m = /^BLK-SHA256 ([0-9a-f]{64})$/.exec(l))) o.sha256 = m[1];
    else if ((m = /^RNG ([0-9a-f]*)$/.exec(l))) o.rng = m[1];
    else if ((m = /^RNG-NONZERO n=(\d+)$/.exec(l))) o.rngNonZero = Number(m[1]);
    else if ((m = /^HVC-STATUS used=(\d+)$/.exec(l))) o.hvcUsed = Number(m[1]);
    else if ((m = /^IRQS n=(\d+)$/.exec(l))) o.irqs = Number(m[1]);
    else if (l === 'VIRTQ-TIMEOUT') o.timeout = true;
    else if ((m = /^BENCH ([\w-]+) begin$/.exec(l))) o.benchBegun.push(m[1] as string);
    else if ((m = /^BENCH ([\w-]+) end bytes=(\d+) ops=(\d+)$/.exec(l)))
      o.benchEnded.push({ phase: m[1] as string, bytes: Number(m[2]), ops: Number(m[3]) });
    else if ((m = /^ERROR (.*)$/.exec(l))) o.errors.push(m[1] as string);
    else if (l === 'DONE') o.done = true;
  }
  return o;
}

/** What blk-pattern writes (guests/virtio/blk-pattern.c): byte i = (i * 7 + i / 512) & 0xff at sector 8. */
export const BLK_PATTERN_SECTOR = 8;
export const BLK_PATTERN_BYTES = 16384;
export function blkPattern(): Buffer {
  const b = Buffer.alloc(BLK_PATTERN_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + Math.floor(i / 512)) & 0xff;
  return b;
}
/** How many bytes blk-read reads from sector 0 and hashes (guests/virtio/blk-read.c). */
export const BLK_READ_BYTES = 16384;
