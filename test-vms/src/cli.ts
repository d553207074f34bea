// `pnpm test-vms [--print] [all|guests|kernel]`: builds what is missing into the cache;
// --print writes every asset path as JSON on stdout (progress goes to stderr).
import { buildAssets } from './assets';

async function main(argv: string[]): Promise<number> {
  const print = argv.includes('--print');
  const rest = argv.filter((a) => a !== '--print');
  const which = rest[0] ?? 'all';
  if (which !== 'all' && which !== 'guests' && which !== 'kernel') {
    process.stderr.write(`test-vms: unknown target '${which}' (all, guests, kernel)\n`);
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
