// `pnpm test-vms [--print] [all|guests|kernel]`: builds what is missing into the
// cache; --print writes every asset path as JSON on stdout (progress goes to stderr).
// `pnpm test-vms nested -- CMD [ARG...]`: runs CMD from the repository's root inside the
// nested-KVM host (test-vms/src/nested/run.ts) and exits with its code.
import { buildAssets } from './assets';
import { runNested } from './nested/run';

/** POSIX shell quoting: one word whatever the argument holds. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

async function nested(argv: string[]): Promise<number> {
  const cmd = argv[0] === '--' ? argv.slice(1) : argv;
  if (cmd.length === 0) {
    process.stderr.write('test-vms: usage: pnpm test-vms nested -- CMD [ARG...]\n');
    return 2;
  }
  const r = await runNested({ script: `exec ${cmd.map(shellQuote).join(' ')}\n` });
  process.stderr.write(
    `test-vms: nested run ended in ${r.seconds.toFixed(0)} s with ${r.code ?? 'no exit code'}\n`,
  );
  return r.code ?? 1;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'nested') return nested(argv.slice(1));
  const print = argv.includes('--print');
  const rest = argv.filter((a) => a !== '--print');
  const which = rest[0] ?? 'all';
  if (which !== 'all' && which !== 'guests' && which !== 'kernel') {
    process.stderr.write(`test-vms: unknown target '${which}' (all, guests, kernel, nested)\n`);
    return 2;
  }
  const assets = await buildAssets(which);
  if (print) process.stdout.write(`${JSON.stringify(assets, null, 2)}\n`);
  else process.stderr.write('test-vms: assets ready (use --print for their paths)\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`test-vms: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
