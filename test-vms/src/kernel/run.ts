// Runs a build command and condenses its output into progress: one line every few seconds
// (the latest line the command printed), and the tail of the output when it fails.
import { spawn } from 'node:child_process';
import { KernelBuildError } from './errors';

export interface RunOptions {
  cwd?: string;
  /** Prefix of progress lines, e.g. "kernel: make". */
  label: string;
  /** Seconds between progress lines. */
  every?: number;
  /** Where progress goes (stderr by default). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const TAIL_LINES = 40;

export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<void> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const every = (opts.every ?? 5) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    let partial = '';
    let lines = 0;
    let last = '';
    const started = Date.now();
    const onData = (chunk: Buffer): void => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) {
        const line = p.trimEnd();
        if (!line) continue;
        lines++;
        last = line;
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setInterval(() => {
      const s = Math.round((Date.now() - started) / 1000);
      log(`${opts.label} [${s}s, ${lines} lines] ${last}`);
    }, every);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(
        new KernelBuildError(
          'ETOOL',
          `${opts.label}: cannot run ${cmd}: ${e.message}; install it (Debian package)`,
          {
            cause: e,
          },
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (partial) tail.push(partial);
      if (code === 0) {
        resolve();
        return;
      }
      const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(
        new KernelBuildError(
          'EMAKE',
          `${opts.label}: \`${cmd} ${args.join(' ')}\` ${why}; its last lines:\n${tail.join('\n')}`,
        ),
      );
    });
  });
}
