#!/usr/bin/env node
// `pnpm test`: build, say which test tiers this host supports, then lint, typecheck and every
// vitest tier. Each tier that cannot run here says so itself in one loud line. On a host without
// a usable /dev/kvm but with QEMU, tiers 2 and 4 then run again inside a nested-KVM VM
// (test-vms/src/nested/run.ts), and their results replace the host's skips in the closing count.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { reportFiles } from './report.mjs';

/** The test files that need /dev/kvm: tiers 2 and 4. */
const KVM_TIERS = ['packages/hypervisor/test/kvm', 'packages/vmm/test/kvm', 'packages/vmm/test/linux'];
/**
 * Tier-3 files the nested-KVM VM runs too: their privileged half needs what a container host may
 * lack (CAP_SYS_RESOURCE, to raise a hard RLIMIT_NOFILE), which root in that VM has.
 */
const NESTED_ALSO = ['packages/virtio/test/fuse/fd-limit.test.ts'];
const HOST_REPORT = '.cache/vitest-report.json';
const NESTED_REPORT = '.cache/vitest-nested-report.json';
const NESTED_RETRY_REPORT = '.cache/vitest-nested-retry-report.json';
/**
 * What the nested-KVM VM's own kernel prints when it faults. A user process cannot cause these;
 * QEMU's TCG emulation of AMD-V can (docs/testing.md). Shown with a second run's reason.
 */
const KERNEL_FAULT = 'double fault|general protection fault|Oops|BUG:|invalid opcode:|stack segment:';

function step(title, cmd, args) {
  console.log(`\n=== ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`=== ${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function doctor() {
  const r = spawnSync('node', ['packages/cli/dist/bin.cjs', 'doctor', '--json'], { encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { present: false, accessible: false, problems: [{ problem: 'vmm doctor failed' }] };
  }
}

const vitestArgs = (report) => [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
];

step('build', 'pnpm', ['-s', 'build']);
step('host', 'node', ['packages/cli/dist/bin.cjs', 'doctor', '--tiers']);
const probe = doctor();
const kvmHere = probe.present && probe.accessible && probe.problems.length === 0;
const qemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const nested = !kvmHere && qemu && process.env.VMM_NESTED !== 'off';
if (nested) {
  console.log(
    'tiers 2 and 4: skipped on this host, then run inside a nested-KVM VM (kvm_amd on QEMU TCG with an emulated AMD-V CPU); VMM_NESTED=off leaves them skipped',
  );
}
// Test guests, the minimal kernel (also the nested-KVM VM's) and its initramfs, built into the
// cache when missing, so every tier finds them. The first kernel build takes ~5-10 min on 2 cores.
step('test-vm assets', 'pnpm', ['-s', 'test-vms']);
step('lint', 'pnpm', ['-s', 'lint']);
step('typecheck', 'pnpm', ['-s', 'typecheck']);
fs.mkdirSync('.cache', { recursive: true });
for (const r of [HOST_REPORT, NESTED_REPORT, NESTED_RETRY_REPORT]) fs.rmSync(r, { force: true });

// The tests start the built CLI (it was just built), which starts far faster than through tsx.
const env = { ...process.env, VMM_TEST_BUILT: '1' };
// A test process killed by a signal (SIGSEGV; SIGSYS from a seccomp filter) leaves a core in the
// repository's root (core_pattern "core"); it is described (signal, threads) and removed.
const hostTests = () => {
  const r = spawnSync(
    'sh',
    [
      '-c',
      'ulimit -c unlimited 2>/dev/null; rm -f core; exec pnpm -s exec vitest "$@"',
      'sh',
      ...vitestArgs(HOST_REPORT),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env },
  );
  // Only a death that cost the run its report is described: the seccomp tests kill children on
  // purpose, and their cores are expected.
  if (fs.existsSync('core') && !fs.existsSync(HOST_REPORT)) {
    console.log('=== a test process dumped core (its signal, and its threads):');
    spawnSync(
      'sh',
      [
        '-c',
        `command -v gdb >/dev/null && gdb -batch -ex 'p $_siginfo.si_signo' -ex 'info threads' -ex 'bt 12' node core 2>&1 | tail -40`,
      ],
      { stdio: 'inherit' },
    );
  }
  fs.rmSync('core', { force: true });
  return r;
};
console.log('\n=== tests on this host');
let host = hostTests();
if (!fs.existsSync(HOST_REPORT)) {
  // vitest ends without its report when one of its test processes dies (ERR_IPC_CHANNEL_CLOSED
  // above): what killed it is described above. Once more, so one such death is seen, not fatal.
  console.log(
    '\n=== the tests ended without their report: a test process died (see above); running them once more',
  );
  host = hostTests();
}
let nestedStatus = 0;
if (nested) {
  console.log(`\n=== tiers 2 and 4 inside the nested-KVM VM, and ${NESTED_ALSO.join(', ')}`);
  const files = [...KVM_TIERS, ...NESTED_ALSO].join(' ');
  const script = [
    // doctor sees an AMD-V CPU (QEMU emulates it): say what it really is.
    'echo "this VM: QEMU TCG with an emulated AMD-V CPU; kvm_amd gives its /dev/kvm"',
    'node packages/cli/dist/bin.cjs doctor --tiers',
    // A monitor killed by a signal (SIGSEGV, or SIGSYS from its seccomp filter) leaves a core in
    // the repository's root where the kernel makes cores; each is described below (signal, the
    // refused system call) and removed. The test kernel makes none: it logs each seccomp kill
    // instead (CONFIG_AUDIT), printed below.
    'ulimit -c unlimited; rm -f core',
    // The kernel's log from here on is the tests' (its faults decide a second run below).
    'dmesg -C',
    // One file at a time: each boot keeps a core busy, and the VM has two.
    `VMM_TEST_BUILT=1 node node_modules/vitest/vitest.mjs ${vitestArgs(NESTED_REPORT).join(' ')} --fileParallelism=false ${files}; st=$?`,
    // The emulator under this VM has bugs of its own that strike at random (docs/testing.md: a
    // guest stalled in its early boot, a double fault of this VM's kernel): failed files run once
    // more, loudly, and the closing count names each file that passed only the second time.
    `if [ $st -ne 0 ]; then`,
    `  failed=$(node tools/test/failed-files.mjs ${NESTED_REPORT})`,
    `  faults=$(dmesg | grep -E '${KERNEL_FAULT}')`,
    `  [ -n "$faults" ] && { echo "=== RETRY: this VM's own kernel faulted during the run (QEMU TCG's AMD-V):"; echo "$faults"; }`,
    `  echo "=== RETRY: the failed files once more, in a fresh vitest:" \${failed:-all}`,
    `  VMM_TEST_BUILT=1 node node_modules/vitest/vitest.mjs ${vitestArgs(NESTED_RETRY_REPORT).join(' ')} --fileParallelism=false \${failed:-${files}}; st=$?`,
    'fi',
    `killed=$(dmesg | grep 'type=1326')`,
    `[ -n "$killed" ] && { echo "=== a seccomp filter killed a process during the run (syscall=N: the call it refused, x86_64 numbers):"; echo "$killed"; }`,
    `if [ -f core ]; then echo "=== a process dumped core (its signal; for SIGSYS the refused call):"; ` +
      `command -v gdb >/dev/null && gdb -batch -ex 'p $_siginfo.si_signo' -ex 'p $_siginfo._sifields._sigsys' -ex 'info threads' node core 2>&1 | tail -25; rm -f core; fi`,
    'exit $st',
  ].join('\n');
  nestedStatus =
    spawnSync('pnpm', ['-s', 'test-vms', 'nested', '--', 'sh', '-c', script], { stdio: 'inherit' }).status ??
    1;
}

/** The files of a vitest JSON report with their status ('passed', 'failed'), by absolute path. */
function fileStatus(report) {
  return new Map(reportFiles(report).map((f) => [f.name, f.status]));
}

/** Per test file, the results of the last report that ran it (the nested run replaces the host's skips). */
function merged() {
  const files = new Map();
  for (const report of [HOST_REPORT, NESTED_REPORT, NESTED_RETRY_REPORT]) {
    for (const f of reportFiles(report)) {
      files.set(
        f.name,
        f.assertionResults.map((a) => a.status),
      );
    }
  }
  return [...files.values()].flat();
}
// One plain closing line with the counts, whatever the reporters printed above.
if (fs.existsSync(HOST_REPORT)) {
  const all = merged();
  const count = (s) => all.filter((x) => s.includes(x)).length;
  const where = nested ? ' (tiers 2 and 4 from the nested-KVM VM)' : '';
  console.log(
    `\n${count(['passed'])} passed, ${count(['failed'])} failed, ${count(['pending', 'skipped', 'todo'])} skipped${where}`,
  );
  const first = fileStatus(NESTED_REPORT);
  const second = [...fileStatus(NESTED_RETRY_REPORT)].filter(([, st]) => st === 'passed').map(([f]) => f);
  const flaky = second.filter((f) => first.get(f) !== 'passed');
  if (flaky.length) {
    console.log(
      `of them, passed only on the nested VM's second run (see RETRY above): ${flaky.map((f) => f.replace(`${process.cwd()}/`, '')).join(', ')}`,
    );
  }
} else {
  console.log('\nno test report was written');
}
process.exit(host.status === 0 && nestedStatus === 0 ? 0 : (host.status ?? 1) || nestedStatus);
