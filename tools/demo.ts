#!/usr/bin/env node
// `pnpm demo`: install what is missing, build the packages and the test VM, and boot it to its
// console with `vmm run`. On a host without usable KVM it says why (vmm doctor) and stops.
import { spawnSync } from 'node:child_process';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0 && !opts.allowFail) {
    console.error(`demo: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  return r;
}

run('bash', ['tools/setup/system-deps.sh']);
run('pnpm', ['-s', 'build', '--output-logs=errors-only']);
const probe = JSON.parse(
  spawnSync('node', ['packages/cli/dist/bin.js', 'doctor', '--json'], { encoding: 'utf8' }).stdout,
);
if (!probe.present || !probe.accessible) {
  run('node', ['packages/cli/dist/bin.js', 'doctor'], { allowFail: true });
  console.error(
    'demo: this host cannot run VMs (see above); the test VM is still built so `pnpm test` can use it',
  );
  run('pnpm', ['-s', 'test-vms']);
  process.exit(1);
}
const assets = JSON.parse(
  spawnSync('pnpm', ['-s', 'test-vms', '--print'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .stdout,
);
const { guestCmdline } = await import('./demo-cmdline.mjs');
if (probe.virtualization === 'software-emulated') {
  console.error('demo: this host runs KVM in software (no VT-x/AMD-V): the boot takes ~40 s');
}
console.error('demo: booting the test VM; at the shell, `poweroff -f` ends it');
const r = run(
  'node',
  [
    'packages/cli/dist/bin.js',
    'run',
    '--kernel',
    assets.kernel,
    '--initrd',
    assets.initrd,
    '--memory',
    'size=256M',
    '--cpus',
    'boot=1',
    '--cmdline',
    guestCmdline,
  ],
  { allowFail: true },
);
process.exit(r.status ?? 1);
