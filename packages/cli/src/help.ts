import type { FlagSpec } from './args/argv';

export const TOP_HELP = `vmm: microVMs on KVM from Node.js

Usage:
  vmm run --kernel PATH [options]   boot a VM (see vmm run --help)
  vmm doctor [--tiers]              check this host: KVM, permissions, virtualization kind
  vmm nat --netns PATH|PID [...]    serve a network namespace through the userspace NAT (see vmm nat --help)
  vmm run --api-socket path=PATH    serve Cloud Hypervisor's REST API; the VM comes from vm.create
  vmm remote --api-socket PATH CMD  drive it, as ch-remote (see vmm remote --help)
  vmm --version | --help
`;

/** Where descriptions start: a flag whose spelling is longer has its description on the next line. */
const DESCRIPTION_COLUMN = 28;
/** The width a help text is wrapped to when stdout is not a terminal. */
const DEFAULT_WIDTH = 100;

/**
 * `usage`, then one entry per flag: its spelling, and its description wrapped at `width` (the
 * terminal's, when there is one), starting at one column for all, as clap and GNU tools lay it out.
 */
export function flagsHelp(
  usage: string,
  flags: Record<string, FlagSpec & { help: string; arg?: string }>,
  width = process.stdout.columns || DEFAULT_WIDTH,
): string {
  const textWidth = Math.max(width - DESCRIPTION_COLUMN, 30);
  const pad = ' '.repeat(DESCRIPTION_COLUMN);
  const entries = Object.entries(flags).map(([name, f]) => {
    const label = `  --${name}${f.arg ? ` ${f.arg}` : ''}`;
    const lines = wrap(f.help, textWidth);
    const first =
      label.length + 2 <= DESCRIPTION_COLUMN
        ? `${label.padEnd(DESCRIPTION_COLUMN)}${lines[0]}`
        : `${label}\n${pad}${lines[0]}`;
    return [first, ...lines.slice(1).map((l) => pad + l)].join('\n');
  });
  return `${usage}\n\nOptions:\n${entries.join('\n')}\n`;
}

/** `text` in lines of at most `width` characters, broken at spaces (a longer word gets its own line). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}
