// A VM under `vmm run --api-socket` snapshotted and brought back in a new process, as a user of
// Cloud Hypervisor's API would: pause and snapshot with `vmm remote`, the first process ended hard
// (SIGKILL), then `vmm run --restore` (which resumes it).
import { execFileSync } from 'node:child_process';
import { ConsoleProcess, repoRoot, vmmCommand } from './console-process';

/** `vmm remote --api-socket SOCKET ARGS...`: its stdout; throws when it exits non-zero. */
export function remoteOn(socket: string): (...args: string[]) => string {
  return (...args) =>
    execFileSync(vmmCommand[0]!, [...vmmCommand.slice(1), 'remote', '--api-socket', socket, ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
}

/** Pause `p`'s VM, snapshot it into `snapDir`, kill `p`, and restore the snapshot in a new process. */
export async function snapshotIntoNewProcess(
  p: ConsoleProcess,
  socket: string,
  snapDir: string,
): Promise<ConsoleProcess> {
  const remote = remoteOn(socket);
  remote('pause');
  remote('snapshot', `file://${snapDir}`);
  p.kill();
  await p.exited;
  return new ConsoleProcess([...vmmCommand, 'run', '--restore', `source_url=file://${snapDir}`]);
}
