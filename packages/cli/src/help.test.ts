import { describe, expect, it } from 'vitest';
import { RUN_FLAGS } from './commands/run-flags';
import { flagsHelp, wrap } from './help';

describe('flagsHelp', () => {
  it("lays out vmm run's flags in two columns, descriptions wrapped to the width", () => {
    const text = flagsHelp('Usage: vmm run', RUN_FLAGS, 80);
    const lines = text.split('\n');
    for (const l of lines.filter((x) => x.startsWith(' '.repeat(28))))
      expect(l.length, l).toBeLessThanOrEqual(80);
    // A short spelling shares its line with the description, at column 28.
    expect(lines).toContain(`${'  --rng'.padEnd(28)}virtio-rng fed from the host CSPRNG`);
    // A long one (--net's keys) has it on the next line; nothing is lost.
    const net = lines.findIndex((l) => l.startsWith('  --net '));
    expect(lines[net + 1]).toMatch(/^ {28}virtio-net on the userspace NAT/);
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    const all = words(text);
    for (const f of Object.values(RUN_FLAGS)) expect(all.join(' ')).toContain(words(f.help).join(' '));
  });

  it('wraps at spaces, a word longer than the width alone on its line', () => {
    expect(wrap('aa bb cc', 5)).toEqual(['aa bb', 'cc']);
    expect(wrap('a verylongword b', 4)).toEqual(['a', 'verylongword', 'b']);
    expect(wrap('', 10)).toEqual(['']);
  });
});
