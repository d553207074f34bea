// `pnpm demo`: install what is missing, build the packages and the test VM, and boot it to its
// console with `vmm run`. On a host without usable KVM it says why (vmm doctor) and, where QEMU is
// installed, boots it in a nested-KVM VM instead. Without a terminal to type into (there, or when
// stdin is not a TTY) a short scripted session runs at the guest's shell and powers it off.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { buildAssets } from '../test-vms/src/assets';
import { guestCmdline, hostTscKhz } from '../test-vms/src/kernel/cmdline';
import { qemuInstalled } from '../test-vms/src/host-tools';

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
const bin = 'packages/cli/dist/bin.cjs';
const probe = JSON.parse(spawnSync('node', [bin, 'doctor', '--json'], { encoding: 'utf8' }).stdout) as {
  present: boolean;
  accessible: boolean;
  virtualization: string;
};
const assets = await buildAssets('all');
const vmmRun = [bin, 'run', '--kernel', assets.kernel!, '--initrd', assets.initrd!, '--memory', 'size=256M'];
if (!probe.present || !probe.accessible) {
  run('node', [bin, 'doctor'], { allowFail: true });
  // Asked now, after system-deps.sh: on a fresh machine QEMU was installed a moment ago.
  if (!qemuInstalled()) {
    process.stderr.write('demo: this host cannot run VMs (see above) and has no QEMU for a nested KVM\n');
    process.exit(1);
  }
  // No terminal inside: a short scripted session at the guest's shell instead of an interactive one.
  process.stderr.write(
    'demo: no usable /dev/kvm here: booting the test VM under vmm run inside a nested-KVM VM ' +
      '(kvm_amd on QEMU TCG, docs/testing.md), with a few commands at its shell\n',
  );
  const cmdline = guestCmdline({ tscKhz: hostTscKhz() });
  process.exit(
    run(
      'pnpm',
      [
        '-s',
        'test-vms',
        'nested',
        '--',
        'node',
        'tools/demo/scripted-session.mjs',
        'node',
        ...vmmRun,
        '--cmdline',
        cmdline,
      ],
      { allowFail: true },
    ),
  );
}
if (probe.virtualization === 'software-emulated') {
  process.stderr.write(
    'demo: this host runs KVM in software (no VT-x/AMD-V): the boot takes about a minute\n',
  );
}
if (!process.stdin.isTTY) {
  process.stderr.write(
    'demo: no terminal on stdin: booting the test VM and running a few commands at its shell\n',
  );
  process.exit(
    run('node', ['tools/demo/scripted-session.mjs', 'node', ...vmmRun, '--cmdline', guestCmdline()], {
      allowFail: true,
    }),
  );
}
process.stderr.write('demo: booting the test VM; at its shell, `poweroff -f` ends it\n');
process.exit(run('node', [...vmmRun, '--cmdline', guestCmdline()], { allowFail: true }));
