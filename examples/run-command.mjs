// Boot a Linux guest with the guest agent, run commands in it, copy a file in and back out, and
// power it off: what an integration-test or sandbox VM does.
//
//   node examples/run-command.mjs KERNEL INITRD
//   VMM_KERNEL=... VMM_INITRD=... node examples/run-command.mjs
//
// KERNEL is an uncompressed vmlinux (or a bzImage) with virtio-mmio and vsock
// (CONFIG_VIRTIO_VSOCKETS); INITRD any initramfs with a shell (/bin/sh): the library adds the
// agent to it. VMM_CMDLINE replaces the kernel command line (default "console=ttyS0");
// VMM_SHOW_CONSOLE=1 copies the guest's console to stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Vmm } from '@vmm/vmm';

const [kernel = process.env.VMM_KERNEL, initrd = process.env.VMM_INITRD] = process.argv.slice(2);
if (!kernel || !initrd) {
  console.error('usage: node examples/run-command.mjs KERNEL INITRD (or set VMM_KERNEL and VMM_INITRD)');
  process.exit(2);
}

const vm = await Vmm.builder()
  .kernel(kernel)
  .initrd(initrd)
  .cmdline(process.env.VMM_CMDLINE ?? 'console=ttyS0')
  .memory('256M')
  .console({ capture: true })
  .vsock({ cid: 3 }) // virtio-vsock, and the guest agent added to the initramfs
  // How long start() may take, and exec() and the copies wait for the agent: on hardware KVM a
  // small guest is up in a second or two; under software emulation it can take minutes.
  .start({ timeoutMs: 240_000, agentTimeoutMs: 240_000 });
if (process.env.VMM_SHOW_CONSOLE === '1') vm.on('console-line', (line) => console.error(`guest: ${line}`));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-example-'));
try {
  // A command with its arguments: its exit code and its output, stdout and stderr apart.
  const uname = await vm.exec(['uname', '-r']);
  console.log(`uname -r: ${uname.stdout.toString().trim()} (exit code ${uname.code})`);
  const failing = await vm.exec(['sh', '-c', 'echo "to stderr" >&2; exit 3']);
  console.log(`sh -c 'exit 3': exit code ${failing.code}, stderr "${failing.stderr.toString().trim()}"`);

  // A file in, worked on in the guest, and the result out again.
  const hostFile = path.join(dir, 'hello.txt');
  fs.writeFileSync(hostFile, 'hello from the host\n');
  await vm.copyIn(hostFile, '/tmp/hello.txt');
  const upper = await vm.exec(['sh', '-c', 'tr a-z A-Z < /tmp/hello.txt > /tmp/HELLO.txt'], {
    timeoutMs: 30_000, // the command is killed (timedOut: true) if it runs longer
  });
  if (upper.code !== 0) throw new Error(`tr failed: ${upper.stderr.toString()}`);
  await vm.copyOut('/tmp/HELLO.txt', path.join(dir, 'HELLO.txt'));
  console.log(`copied back: ${fs.readFileSync(path.join(dir, 'HELLO.txt'), 'utf8').trim()}`);

  // The agent syncs and powers the guest off; it is stopped if it takes longer than graceMs.
  const exit = await vm.shutdown({ graceMs: 120_000 });
  console.log(`guest exited: ${exit.outcome}`);
} finally {
  await vm.dispose(); // every thread, fd and file of the VM released (a no-op once it has exited)
  fs.rmSync(dir, { recursive: true, force: true });
}
