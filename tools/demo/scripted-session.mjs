#!/usr/bin/env node
// The demo's session where nobody can type at the guest's shell (no terminal: inside the nested-KVM
// VM, or `pnpm demo` run by a script): boots the test VM with the vmm run command given as
// arguments, waits for its shell, runs a few commands on its console for all to see, and powers it
// off. Exits with vmm run's code.
import { spawn } from 'node:child_process';

const COMMANDS = ['uname -sr; echo "vCPUs: $(nproc)"; head -n1 /proc/meminfo', 'poweroff -f'];
const vmm = spawn(process.argv[2], process.argv.slice(3), { stdio: ['pipe', 'pipe', 'inherit'] });
let seen = '';
let sent = false;
vmm.stdout.on('data', (b) => {
  process.stdout.write(b);
  if (sent) return;
  seen += b.toString('latin1');
  // The initramfs prints VMM-READY, then its shell's prompt "~ # " (and a cursor query).
  if (/VMM-READY[\s\S]*# /.test(seen)) {
    sent = true;
    vmm.stdin.write(`${COMMANDS.join('\n')}\n`);
  }
});
vmm.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
