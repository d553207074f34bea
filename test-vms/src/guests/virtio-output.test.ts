// The parser of the virtio test guests' lines, on the lines as the guests print them
// (guests/virtio/irq.h, blk-bench.c, blk_report.h).
import { describe, expect, it } from 'vitest';
import { parseVirtioOutput } from './virtio-output';

describe('parseVirtioOutput', () => {
  it('reads the interrupt count, the bench phases and DONE', () => {
    const o = parseVirtioOutput(
      [
        'BLK-STATUS op=get_id sector=0 status=0',
        'BLK capacity=32768 serial=',
        'BENCH config mib=16 rand=200 size_max=4294967295 seg_max=6',
        'BENCH seq-write begin',
        'BENCH seq-write end bytes=16777216 ops=16',
        'BENCH seq-read begin\r',
        'BENCH seq-read end bytes=16777216 ops=16\r',
        'BENCH rand-read begin',
        'BENCH rand-read end bytes=819200 ops=200',
        'IRQS n=233',
        'DONE',
      ].join('\n'),
    );
    expect(o.capacity).toBe(32768);
    expect(o.benchBegun).toEqual(['seq-write', 'seq-read', 'rand-read']);
    expect(o.benchEnded).toEqual([
      { phase: 'seq-write', bytes: 16777216, ops: 16 },
      { phase: 'seq-read', bytes: 16777216, ops: 16 },
      { phase: 'rand-read', bytes: 819200, ops: 200 },
    ]);
    expect(o.irqs).toBe(233);
    expect(o.timeout).toBe(false);
    expect(o.errors).toEqual([]);
    expect(o.done).toBe(true);
  });

  it('reports a watchdog timeout and its ERROR line, without DONE', () => {
    const o = parseVirtioOutput(
      'BLK capacity=2048 serial=\nVIRTQ-TIMEOUT\nERROR no interrupt\nPOWEROFF S5 slp_typ=5 reg=sleep_control\n',
    );
    expect(o.timeout).toBe(true);
    expect(o.errors).toEqual(['no interrupt']);
    expect(o.irqs).toBeUndefined();
    expect(o.done).toBe(false);
  });
});
