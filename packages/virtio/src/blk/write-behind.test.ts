import { describe, expect, it } from 'vitest';
import { WRITE_BEHIND_BYTES, WriteBehind } from './write-behind';

const MIB = 1024 * 1024;

function due(w: WriteBehind): [number, number] {
  const r = { from: -1, len: -1 };
  w.take(r);
  return [r.from, r.len];
}

describe('write-behind: which written ranges get their writeback started', () => {
  it('a sequential run, once it reaches WRITE_BEHIND_BYTES, then the next run after it', () => {
    expect(WRITE_BEHIND_BYTES).toBe(MIB);
    const w = new WriteBehind();
    for (let i = 0; i < 3; i++) w.wrote(i * 256 * 1024, 256 * 1024);
    expect(due(w)[1]).toBe(0);
    w.wrote(768 * 1024, 256 * 1024);
    expect(due(w)).toEqual([0, MIB]);
    expect(due(w)[1]).toBe(0); // taken once
    w.wrote(MIB, MIB); // one 1 MiB write is a run of its own
    expect(due(w)).toEqual([MIB, MIB]);
  });

  it('scattered small writes never; a write elsewhere starts a new run', () => {
    const w = new WriteBehind();
    for (let i = 0; i < 1000; i++) w.wrote(((i * 7919) % 4096) * 8192, 4096);
    expect(due(w)[1]).toBe(0);
    w.wrote(100 * MIB, MIB / 2);
    w.wrote(300 * MIB, MIB / 2); // not back to back: the first half-run is dropped
    expect(due(w)[1]).toBe(0);
    w.wrote(300 * MIB + MIB / 2, MIB / 2);
    expect(due(w)).toEqual([300 * MIB, MIB]);
  });

  it('runs due in one batch are covered by one range', () => {
    const w = new WriteBehind();
    w.wrote(10 * MIB, MIB);
    w.wrote(2 * MIB, MIB);
    expect(due(w)).toEqual([2 * MIB, 9 * MIB]);
    w.wrote(0, 0);
    expect(due(w)[1]).toBe(0);
  });
});
