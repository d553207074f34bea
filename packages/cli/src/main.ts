// The `vmm` command's dispatcher. Errors become one line on stderr and an exit code: 2 for a bad
// command line, 1 for everything else. Nothing below the CLI calls process.exit.
import { createRequire } from 'node:module';
import { UsageError } from './args/errors';
import { TOP_HELP } from './help';

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      // Each command's modules load when it runs: `vmm run` never compiles the NAT command's, nor
      // `vmm doctor` the library's.
      case 'run':
        return await (await import('./commands/run')).runCommand(rest);
      case 'doctor':
        return await (await import('./commands/doctor')).doctorCommand(rest);
      case 'nat':
        return await (await import('./nat/index')).natCommand([...rest]);
      case 'remote':
        return await (await import('./commands/remote')).remoteCommand(rest);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(TOP_HELP);
        return command === undefined ? 2 : 0;
      case '--version':
        process.stdout.write(`${version()}\n`);
        return 0;
      default:
        throw new UsageError(
          `unknown command '${command}' (commands: run, doctor, nat, remote; see vmm --help)`,
        );
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stderr.write(`vmm: ${err.message}\n`);
    if (process.env.VMM_DEBUG) process.stderr.write(`${err.stack}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

function version(): string {
  const require = createRequire(import.meta.url);
  for (const p of ['../package.json', '../../package.json']) {
    try {
      return (require(p) as { version: string }).version;
    } catch {
      // try the next location (source tree vs dist)
    }
  }
  return 'unknown';
}
