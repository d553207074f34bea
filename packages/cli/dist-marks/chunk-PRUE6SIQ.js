// src/help.ts
var TOP_HELP = `vmm: microVMs on KVM from Node.js

Usage:
  vmm run --kernel PATH [options]   boot a VM (see vmm run --help)
  vmm doctor [--tiers]              check this host: KVM, permissions, virtualization kind
  vmm nat --netns PATH|PID [...]    serve a network namespace through the userspace NAT (see vmm nat --help)
  vmm run --api-socket path=PATH    serve Cloud Hypervisor's REST API; the VM comes from vm.create
  vmm remote --api-socket PATH CMD  drive it, as ch-remote (see vmm remote --help)
  vmm --version | --help
`;
var DESCRIPTION_COLUMN = 28;
var DEFAULT_WIDTH = 100;
function flagsHelp(usage, flags, width = process.stdout.columns || DEFAULT_WIDTH) {
  const textWidth = Math.max(width - DESCRIPTION_COLUMN, 30);
  const pad = " ".repeat(DESCRIPTION_COLUMN);
  const entries = Object.entries(flags).map(([name, f]) => {
    const label = `  --${name}${f.arg ? ` ${f.arg}` : ""}`;
    const lines = wrap(f.help, textWidth);
    const first = label.length + 2 <= DESCRIPTION_COLUMN ? `${label.padEnd(DESCRIPTION_COLUMN)}${lines[0]}` : `${label}
${pad}${lines[0]}`;
    return [first, ...lines.slice(1).map((l) => pad + l)].join("\n");
  });
  return `${usage}

Options:
${entries.join("\n")}
`;
}
function wrap(text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

export {
  TOP_HELP,
  flagsHelp
};
//# sourceMappingURL=chunk-PRUE6SIQ.js.map