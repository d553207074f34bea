// A monitor process driven over its serial console: test-vms' ConsoleSession on the child's
// stdio (wait for a pattern after the previous match, type input), plus its stderr and exit.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadReport } from './thread-report';
import { ConsoleSession } from '../../../../test-vms/src/kernel/console-session';

export const repoRoot = path.resolve(import.meta.dirname, '../../../..');

/** tsx's loader by its file URL: found from any working directory a test starts the monitor in. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(path.join(repoRoot, 'package.json')).resolve('tsx')).href;
}
/**
 * `vmm` as the tests start it: from the TypeScript sources through tsx (no build needed), or the
 * built CLI when VMM_TEST_BUILT=1 (`pnpm test` builds first; it starts in a fraction of the time,
 * which counts under emulation).
 */
export const vmmCommand = [
  // A debugging aid: VMM_TEST_WRAP='strace -f -o /tmp/trace' runs each monitor under that command.
  ...(process.env.VMM_TEST_WRAP?.split(' ').filter(Boolean) ?? []),
  ...(process.env.VMM_TEST_BUILT === '1'
    ? ['node', path.join(repoRoot, 'packages/cli/dist/bin.cjs')]
    : ['node', '--import', tsxLoader(), path.join(repoRoot, 'packages/cli/src/bin.ts')]),
];

export class ConsoleProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly console: ConsoleSession;
  err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(argv: readonly string[], cwd = repoRoot) {
    this.child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.console = new ConsoleSession(this.child.stdout, this.child.stdin);
    this.child.stderr.on('data', (d: Buffer) => (this.err += d.toString('latin1')));
    this.exited = new Promise((res) => this.child.on('exit', (code, signal) => res({ code, signal })));
  }

  /** Everything the guest printed so far. */
  get out(): string {
    return this.console.output;
  }

  /** The first match of `pattern` after the previous match; the monitor's stderr is added to a failure. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    try {
      return await this.console.waitFor(pattern, timeoutMs);
    } catch (e) {
      // Before anything else: what the monitor's threads are doing while the guest is stuck.
      const threads = threadReport(this.child.pid);
      // A closed console is a monitor that ended: say how (a signal with no stderr is a crash).
      const ended = await Promise.race([
        this.exited.then(({ code, signal }) => `\nmonitor exited: code ${code} signal ${signal}`),
        new Promise<string>((r) => setTimeout(() => r(''), 2000)),
      ]);
      throw new Error(
        `${(e as Error).message}${ended}\nmonitor stderr:\n${this.err}${threads ? `\nmonitor threads:\n${threads}` : ''}`,
      );
    }
  }

  send(text: string): void {
    this.console.send(text);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Run to completion; returns exit code, stdout, stderr. */
export async function runToEnd(argv: readonly string[], input?: string, timeoutMs = 60_000) {
  const p = new ConsoleProcess(argv);
  if (input !== undefined) p.send(input);
  const timer = setTimeout(() => p.kill(), timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  return { code, signal, out: p.out, err: p.err };
}
