import { describe, expect, it } from 'vitest';
import { applyHostQuirks, describeHostQuirks, hostQuirks, readHostTscKhz } from './host-quirks';
import { bootMsrs } from './msrs';

describe('host quirks', () => {
  it('software-emulated hosts get the four options, each with a reason', () => {
    const quirks = hostQuirks('software-emulated', 2_096_020);
    expect(quirks.map((q) => q.option)).toEqual([
      'noxsave',
      'clearcpuid=smap,popcnt,erms,fsrm',
      'tsc_early_khz=2096020',
      'tsc=reliable',
    ]);
    for (const q of quirks) expect(q.reason.length).toBeGreaterThan(10);
    expect(describeHostQuirks(quirks)).toContain(
      '"noxsave clearcpuid=smap,popcnt,erms,fsrm tsc_early_khz=2096020',
    );
  });

  it('hardware hosts need nothing; an unknown TSC leaves tsc_early_khz out', () => {
    expect(hostQuirks('hardware', 1000)).toEqual([]);
    expect(hostQuirks('none')).toEqual([]);
    expect(hostQuirks('software-emulated', null).some((q) => q.option.startsWith('tsc_early_khz'))).toBe(
      false,
    );
    expect(describeHostQuirks([])).toBe('');
  });

  it('reads the TSC from sysfs, else /proc/cpuinfo "cpu MHz", else gives up', () => {
    const files = (map: Record<string, string>) => (p: string) => {
      const text = map[p];
      if (text === undefined) throw new Error(`ENOENT ${p}`);
      return text;
    };
    expect(readHostTscKhz(files({ '/sys/devices/system/cpu/cpu0/tsc_freq_khz': '2100000\n' }))).toBe(
      2_100_000,
    );
    const cpuinfo = 'processor\t: 0\nmodel name\t: Xeon\ncpu MHz\t\t: 2096.020\ncache size\t: 1 KB\n';
    expect(readHostTscKhz(files({ '/proc/cpuinfo': cpuinfo }))).toBe(2_096_020);
    expect(readHostTscKhz(files({}))).toBeUndefined();
    expect(readHostTscKhz(files({ '/proc/cpuinfo': 'processor: 0\n' }))).toBeUndefined();
  });

  it('reads this host for real', () => {
    const khz = readHostTscKhz();
    if (process.platform === 'linux') expect(khz).toBeGreaterThan(100_000);
  });

  it('adds options before "--", skipping those the user set', () => {
    const quirks = hostQuirks('software-emulated', 2000);
    expect(applyHostQuirks('console=ttyS0 clearcpuid=pku -- init', quirks)).toBe(
      'console=ttyS0 clearcpuid=pku noxsave tsc_early_khz=2000 tsc=reliable -- init',
    );
    expect(applyHostQuirks('', quirks.slice(0, 1))).toBe('noxsave');
  });
});

describe('boot MSRs', () => {
  it('as Firecracker: SYSENTER, syscall MSRs and TSC zero; fast strings; MTRRs on, write-back default', () => {
    const msrs = new Map(bootMsrs().map((m) => [m.index, m.data]));
    for (const zero of [
      0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102, 0x10,
    ]) {
      expect(msrs.get(zero)).toBe(0n);
    }
    expect(msrs.get(0x1a0)).toBe(1n);
    expect(msrs.get(0x2ff)).toBe(0x806n);
    expect(msrs.size).toBe(11);
  });
});
