// `pnpm demo`: install what is missing, build the packages and the test VM, and boot it to its
// console with `vmm run`. On a host without usable KVM it says why (vmm doctor) and stops.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { buildAssets } from '../test-vms/src/assets';
import { guestCmdline } from '../test-vms/src/kernel/cmdline';

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { allowFail?: boolean } = {}): number {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0 && !opts.allowFail) {
    process.stderr.write(`demo: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
  return r.status ?? 1;
}

run('bash', ['tools/setup/system-deps.sh']);
run('pnpm', ['-s', 'build']);
const bin = 'packages/cli/dist/bin.js';
const probe = JSON.parse(spawnSync('node', [bin, 'doctor', '--json'], { encoding: 'utf8' }).stdout) as {
  present: boolean;
  accessible: boolean;
  virtualization: string;
};
const assets = await buildAssets('all');
if (!probe.present || !probe.accessible) {
  run('node', [bin, 'doctor'], { allowFail: true });
  process.stderr.write(
    'demo: this host cannot run VMs (see above); the test VM is built, `pnpm test` uses it\n',
  );
  process.exit(1);
}
if (probe.virtualization === 'software-emulated') {
  process.stderr.write('demo: this host runs KVM in software (no VT-x/AMD-V): the boot takes ~40 s\n');
}
process.stderr.write('demo: booting the test VM; at its shell, `poweroff -f` ends it\n');
const code = run(
  'node',
  [
    bin,
    'run',
    '--kernel',
    assets.kernel!,
    '--initrd',
    assets.initrd!,
    '--memory',
    'size=256M',
    '--cmdline',
    guestCmdline(),
  ],
  { allowFail: true },
);
process.exit(code);
