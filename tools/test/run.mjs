#!/usr/bin/env node
// `pnpm test`: build, say which test tiers this host supports, then lint, typecheck and every
// vitest tier. Each tier that cannot run here says so itself in one loud line.
import { spawnSync } from 'node:child_process';

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
step('tests', 'pnpm', ['-s', 'exec', 'vitest', 'run', ...process.argv.slice(2)]);
