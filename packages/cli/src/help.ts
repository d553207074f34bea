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

export function flagsHelp(
  usage: string,
  flags: Record<string, FlagSpec & { help: string; arg?: string }>,
): string {
  const rows = Object.entries(flags).map(
    ([name, f]) => [`--${name}${f.arg ? ` ${f.arg}` : ''}`, f.help] as const,
  );
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `${usage}\n\nOptions:\n${rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`).join('\n')}\n`;
}
