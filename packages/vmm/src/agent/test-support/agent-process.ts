// The real agent binary run on the host over a Unix socket in a temporary folder (shared/testing.md
// tier 3: the same protocol and exec semantics as in a guest, at full speed), and a client for it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { agentBinaryPath } from '../binary-path';
import { AgentClient } from '../client';

export interface RunningAgent {
  dir: string;
  socketPath: string;
  /** The agent's serving process (the daemon in init mode), as the agent logged it. */
  pid: number;
  child: ChildProcess;
  client: AgentClient;
  /** A new connection, half-open allowed (as connect() wants). */
  open(): Promise<net.Socket>;
  /** What the agent logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** More arguments for the agent. */
  args?: readonly string[];
  /** Run the agent as this user and group (the test must be root). */
  uid?: number;
  gid?: number;
  /** A command that runs the agent (e.g. unshare ...): the pid the agent logs is then not a host pid,
      and stop() SIGKILLs only the wrapper (which must take the agent with it). */
  wrap?: readonly string[];
}

export async function startAgent(opts: StartOptions = {}): Promise<RunningAgent> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-agent-'));
  if (opts.uid !== undefined) fs.chmodSync(dir, 0o777); // the agent binds its socket here
  const socketPath = path.join(dir, 'agent.sock');
  const command = [...(opts.wrap ?? []), agentBinaryPath(), '--unix', socketPath, ...(opts.args ?? [])];
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    uid: opts.uid,
    gid: opts.gid,
  });
  let log = '';
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the agent did not start listening in 10 s:\n${log}`)),
      10_000,
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      log += s;
      const m = /vmm-agent\[(\d+)\]: listening on unix socket/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the agent exited (${code ?? signal}) before listening:\n${log}`));
    });
  });
  const open = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ path: socketPath, allowHalfOpen: true });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  return {
    dir,
    socketPath,
    pid,
    child,
    client: new AgentClient(open),
    open,
    log: () => log,
    async stop() {
      // A wrapper may block SIGTERM (unshare --fork does) while the init it runs ignores it (as
      // PID 1 does): SIGKILL the wrapper, whose --kill-child then takes the namespace down.
      for (const p of new Set(opts.wrap ? [child.pid] : [pid, child.pid])) {
        try {
          if (p) process.kill(p, opts.wrap ? 'SIGKILL' : 'SIGTERM');
        } catch {
          // already gone
        }
      }
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise((resolve) => child.once('exit', resolve));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether any process is left in process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}
