// Drives a monitor process over its serial console: collects stdout, waits for patterns, types input.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../../../..');
/** `vmm` from the TypeScript sources (the tests do not need a build). */
export const vmmCommand = ['node', '--import', 'tsx', path.join(repoRoot, 'packages/cli/src/bin.ts')];

export class ConsoleProcess {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(argv: readonly string[], cwd = repoRoot) {
    this.child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr.on('data', (d: Buffer) => (this.err += d.toString('latin1')));
    this.exited = new Promise((res) => this.child.on('exit', (code, signal) => res({ code, signal })));
  }

  /** Resolve with the match once `pattern` appears in stdout after `from`; reject on timeout or exit. */
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
    for (;;) {
      const m = this.out.slice(from).match(pattern);
      if (m) return m;
      if (exited) throw new Error(`exited before ${pattern}; stdout:\n${this.out}\nstderr:\n${this.err}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${pattern}; stdout:\n${this.out}\nstderr:\n${this.err}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  send(text: string): void {
    this.child.stdin.write(text);
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
