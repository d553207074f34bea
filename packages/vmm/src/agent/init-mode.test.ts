// Init mode (agent/init.h) on the host: --init-then execs the given init in the agent's own process
// while a forked daemon serves; and as PID 1 of a new PID namespace (what rdinit= gives in a guest),
// where that init keeps PID 1.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentBinaryPath } from './binary-path';
import { startAgent, type RunningAgent } from './test-support/agent-process';

function canUnsharePid(): boolean {
  try {
    return (
      execFileSync('unshare', ['--pid', '--fork', '--kill-child', 'sh', '-c', 'echo $$'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() === '1'
    );
  } catch {
    return false;
  }
}

async function waitForFile(file: string): Promise<string> {
  const t0 = Date.now();
  while (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') === '') {
    if (Date.now() - t0 > 5000) throw new Error(`${file} was not written in 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return fs.readFileSync(file, 'utf8');
}

/** Waits until the agent's log holds `line`: PID 1 forks the daemon before it tries the init, so
 *  the daemon's "listening" (which startAgent waits for) may come first. */
async function waitForLog(agent: RunningAgent, line: string): Promise<string> {
  const t0 = Date.now();
  while (!agent.log().includes(line)) {
    if (Date.now() - t0 > 5000) return agent.log();
    await new Promise((r) => setTimeout(r, 20));
  }
  return agent.log();
}

let running: RunningAgent | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('init mode', () => {
  it('--init-then runs the init in the agent’s process and serves from a forked daemon', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'vmm-agent-init-')), 'init');
    running = await startAgent({
      args: [
        '--init-then',
        '/bin/sh',
        '--',
        '-c',
        `echo "$$ $0 $1" > ${marker}; exec sleep 30`,
        'name',
        'arg1',
      ],
    });
    expect(await waitForFile(marker)).toBe(`${running.child.pid} name arg1\n`);
    expect(running.pid).not.toBe(running.child.pid);
    const r = await running.client.exec(['echo', 'served']);
    expect(r.stdout.toString()).toBe('served\n');
    fs.rmSync(path.dirname(marker), { recursive: true, force: true });
  });

  const unshare = canUnsharePid();
  if (!unshare) console.log('SKIPPED agent as PID 1: cannot create a PID namespace here (unshare --pid)');
  it.skipIf(!unshare)('as PID 1 it goes into init mode by itself and the init keeps PID 1', async () => {
    agentBinaryPath(); // built before the namespace starts
    const marker = path.join(fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'vmm-agent-pid1-')), 'init');
    running = await startAgent({
      args: ['--init-then', '/bin/sh', '--', '-c', `echo $$ > ${marker}; exec sleep 30`],
      wrap: ['unshare', '--pid', '--fork', '--kill-child'],
    });
    expect(await waitForFile(marker)).toBe('1\n');
    expect((await running.client.exec(['echo', 'served'])).stdout.toString()).toBe('served\n');
    fs.rmSync(path.dirname(marker), { recursive: true, force: true });
  });

  it.skipIf(!unshare)(
    'as PID 1 without an init to run it stays PID 1, reaping, and still serves',
    async () => {
      agentBinaryPath();
      running = await startAgent({ wrap: ['unshare', '--pid', '--fork', '--kill-child'] });
      const cannotExec = 'vmm-agent[1]: init mode: cannot exec /init';
      expect(await waitForLog(running, cannotExec)).toContain(cannotExec);
      expect(running.pid).toBe(2); // the daemon, in the namespace
      expect((await running.client.exec(['echo', 'served'])).stdout.toString()).toBe('served\n');
    },
  );
});
