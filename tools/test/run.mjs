#!/usr/bin/env node
// `pnpm test`: build, say which test tiers this host supports, then lint, typecheck and every
// vitest tier. Each tier that cannot run here says so itself in one loud line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

function step(title, cmd, args) {
  console.log(`\n=== ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`=== ${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

step('build', 'pnpm', ['-s', 'build']);
step('host', 'node', ['packages/cli/dist/bin.js', 'doctor', '--tiers']);
// Test guests, the minimal kernel and its initramfs, built into the cache when missing (the first
// kernel build takes ~4-8 min on 2 cores), so every tier finds them.
step('test-vm assets', 'pnpm', ['-s', 'test-vms']);
step('lint', 'pnpm', ['-s', 'lint']);
step('typecheck', 'pnpm', ['-s', 'typecheck']);
const report = '.cache/vitest-report.json';
fs.mkdirSync('.cache', { recursive: true });
const tests = spawnSync(
  'pnpm',
  [
    '-s',
    'exec',
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
// One plain closing line with the counts, whatever the reporter printed above.
try {
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  console.log(
    `\n${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
  );
} catch {
  console.log('\nno test report was written');
}
process.exit(tests.status ?? 1);
