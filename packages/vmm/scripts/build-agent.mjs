// Builds the guest agent (agent/*.c) into one static binary with the system gcc against glibc
// (agent/main.c says why glibc and not musl, and how name resolution works without NSS modules):
//   node scripts/build-agent.mjs             dist/agent/vmm-agent, run by `pnpm build` after tsup
//   node scripts/build-agent.mjs --out FILE  FILE (agentBinaryPath() builds into a cache this way)
// The binary is for the build machine's architecture (x86_64 here). Without gcc, or off Linux, it
// prints one loud line and exits 0, so the TypeScript build still succeeds; agentBinaryPath() then
// reports the binary missing. glibc's link-time warning that getaddrinfo wants NSS modules is dropped
// from the output (explained in agent/main.c); every other compiler or linker line is printed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const pkgDir = path.resolve(import.meta.dirname, '..');
const srcDir = path.join(pkgDir, 'agent');
const CFLAGS = [
  '-static',
  '-Os',
  '-s',
  '-std=gnu11',
  '-D_GNU_SOURCE',
  '-Wall',
  '-Wextra',
  '-Wshadow',
  '-Werror',
];

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out =
  outIndex >= 0 ? path.resolve(args[outIndex + 1] ?? '') : path.join(pkgDir, 'dist', 'agent', 'vmm-agent');
if (outIndex >= 0 && !args[outIndex + 1]) fail('--out needs a file name');

/** A path as the messages show it: relative to the package when inside it. */
function display(p) {
  const rel = path.relative(pkgDir, p);
  return rel.startsWith('..') ? p : rel;
}

function skip(why) {
  console.error(`!!! vmm-agent NOT BUILT: ${why}; the guest agent binary will be missing (${display(out)})`);
  process.exit(0);
}

function fail(why) {
  console.error(`build-agent: ${why}`);
  process.exit(1);
}

if (process.platform !== 'linux') skip(`the agent is a Linux program and this is ${process.platform}`);
try {
  execFileSync('gcc', ['--version'], { stdio: 'ignore' });
} catch {
  skip('gcc not found (install gcc and libc6-dev, which has the static glibc)');
}

const sources = fs
  .readdirSync(srcDir)
  .filter((f) => f.endsWith('.c'))
  .sort()
  .map((f) => path.join(srcDir, f));
fs.mkdirSync(path.dirname(out), { recursive: true });
// Built beside the target and renamed into place: concurrent builds (test workers) never see half a file.
const tmp = `${out}.tmp-${process.pid}`;
const r = spawnSync('gcc', [...CFLAGS, '-o', tmp, ...sources], { encoding: 'utf8' });
const NSS_WARNING = /requires at runtime the shared libraries from the glibc version used for linking/;
const lines = `${r.stdout}${r.stderr}`.split('\n');
const shown = lines.filter(
  (l, i) => l !== '' && !NSS_WARNING.test(l) && !NSS_WARNING.test(lines[i + 1] ?? ''),
);
if (shown.length) console.error(shown.join('\n'));
if (r.status !== 0) {
  fs.rmSync(tmp, { force: true });
  fail(`gcc failed (exit ${r.status ?? r.signal}) building ${display(out)}`);
}
fs.renameSync(tmp, out);
if (outIndex < 0) console.error(`built ${display(out)} (${fs.statSync(out).size} bytes)`);
