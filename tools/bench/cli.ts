// `pnpm bench <boot|blk|net|vsock|snapshot|rss>`: run a benchmark side by side with its peer, print the table, and append
// it to docs/benchmarks.md with the command, the date and the host's virtualization kind.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { builtVmm, root } from './paths';

const benches: Record<string, () => Promise<string>> = {
  boot: async () => (await import('./boot')).default(),
  blk: async () => (await import('./blk')).default(),
  net: async () => (await import('./net')).default(),
  vsock: async () => (await import('./vsock')).default(),
  snapshot: async () => (await import('./snapshot')).default(),
  fs: async () => (await import('./fs')).default(),
  rss: async () => (await import('./rss')).default(),
};

function virtualizationKind(): string {
  // Set by test-vms/nested/init.sh: a KVM that is real, on a CPU that QEMU emulates.
  if (process.env.VMM_NESTED_HOST === '1') {
    return 'nested KVM (kvm_amd inside a QEMU TCG VM with an emulated AMD-V CPU; every time is an emulated time, compare only the ratios)';
  }
  try {
    const out = execFileSync('node', [builtVmm, 'doctor', '--json'], {
      encoding: 'utf8',
    });
    return (JSON.parse(out) as { virtualization: string }).virtualization;
  } catch {
    return 'unknown (run pnpm build first)';
  }
}

async function main(): Promise<number> {
  const name = process.argv[2];
  const bench = name ? benches[name] : undefined;
  if (!bench) {
    process.stderr.write(`usage: pnpm bench <${Object.keys(benches).join('|')}>\n`);
    return 2;
  }
  // What is measured is the built code, as users run it: the test harnesses the benchmarks share
  // (the FUSE server's) load it, not the sources, with this set.
  if (!fs.existsSync(builtVmm)) {
    process.stderr.write('pnpm bench measures the built packages: run pnpm build first\n');
    return 2;
  }
  process.env.VMM_TEST_BUILT = '1';
  const table = await bench();
  const section = [
    `## ${name} — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Command: \`pnpm bench ${name}\`; host virtualization: ${virtualizationKind()}; ${process.platform} ${process.arch}, node ${process.version}.`,
    '',
    table.trim(),
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  fs.appendFileSync(path.join(root, 'docs/benchmarks.md'), `\n${section}`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
