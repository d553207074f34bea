// A test-support script run in a child process under tsx, for a test whose case may crash, hang or
// end its process: what it printed, how it ended, killed with SIGKILL past `timeoutMs`.
import { spawn } from 'node:child_process';
import path from 'node:path';

/** The repository's root: the child's working directory. */
export const repoRoot = path.resolve(import.meta.dirname, '../../../..');

export interface ChildRun {
  code: number | null;
  /** SIGKILL when it ran past its time. */
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  pid: number;
}

export async function runTsxChild(
  script: string,
  args: readonly string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<ChildRun> {
  const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    env: options.env ?? process.env,
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const kill = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    p.on('exit', (c, s) => r([c, s])),
  );
  clearTimeout(kill);
  return { code, signal, out, err, pid: p.pid! };
}
