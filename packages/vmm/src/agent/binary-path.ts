// Where the guest agent binary is. Built (dist/): dist/agent/vmm-agent next to this module, made by
// `pnpm build` (scripts/build-agent.mjs). From the TypeScript sources (tests): built on first use
// into packages/vmm/.cache/agent/<key>/ by the same script, key = the sources, the script and gcc's
// version, so an edit to agent/*.c rebuilds it. VMM_AGENT_BINARY overrides both (a binary built
// elsewhere, for another architecture).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentError } from './errors';

let cached: string | undefined;

/** The path of the vmm-agent binary, building it from sources first when running from them. */
export function agentBinaryPath(): string {
  const override = process.env.VMM_AGENT_BINARY;
  if (override) {
    if (!fs.existsSync(override)) missing(`VMM_AGENT_BINARY names ${override}, which does not exist`);
    return override;
  }
  cached ??= fromSource() ? buildFromSources() : builtBinary();
  return cached;
}

// The same test as worker-url.ts: the module itself is a .ts file when run from the sources.
function fromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}

function builtBinary(): string {
  const file = fileURLToPath(new URL('./agent/vmm-agent', import.meta.url));
  if (!fs.existsSync(file)) {
    missing(
      `${file} was not built (the build skipped it: no gcc, or not on Linux); build @vmm/vmm on Linux with gcc`,
    );
  }
  return file;
}

function buildFromSources(): string {
  const pkgDir = fileURLToPath(new URL('../../', import.meta.url));
  const script = path.join(pkgDir, 'scripts', 'build-agent.mjs');
  const srcDir = path.join(pkgDir, 'agent');
  const h = createHash('sha256');
  for (const f of fs.readdirSync(srcDir).sort()) {
    if (f.endsWith('.c') || f.endsWith('.h'))
      h.update(f)
        .update('\0')
        .update(fs.readFileSync(path.join(srcDir, f)));
  }
  h.update(fs.readFileSync(script)).update(gccVersion());
  const file = path.join(pkgDir, '.cache', 'agent', h.digest('hex').slice(0, 16), 'vmm-agent');
  if (fs.existsSync(file)) return file;
  let log = '';
  try {
    log = execFileSync(process.execPath, [script, '--out', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: string };
    missing(`building it from ${srcDir} failed:\n${err.stderr ?? String(e)}`);
  }
  if (!fs.existsSync(file)) missing(`building it from ${srcDir} produced nothing${log ? `:\n${log}` : ''}`);
  return file;
}

function gccVersion(): string {
  try {
    return execFileSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).trim();
  } catch {
    return missing('gcc is not installed; install gcc and libc6-dev (static glibc) to build it from sources');
  }
}

function missing(why: string): never {
  throw new AgentError('AGENT_BINARY_MISSING', 'agent', `the guest agent binary is not available: ${why}`);
}

/** The agent's bytes, for an initramfs. */
export function readAgentBinary(): Uint8Array {
  return fs.readFileSync(agentBinaryPath());
}
