// Child process of snapshot-full-disk.test.ts, run in a private mount namespace with a small tmpfs
// at the snapshot's parent: writes a snapshot of 4 MiB of guest RAM (every page holding data, so
// every page is stored) into a file system that cannot hold it. Prints one JSON line: the error's
// code and message, and what is left in the snapshot's directory.
import fs from 'node:fs';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { sampleState } from '../../../hypervisor/src/test-support/sample-state';
import type { VmConfig } from '../../src/config';
import { createUartState } from '../../src/devices/uart/uart16550';
import { saveSnapshot } from '../../src/snapshot/store';

const [dir = ''] = process.argv.slice(2);
const size = 4 << 20;
const config: VmConfig = {
  kernel: '/k/vmlinux',
  cmdline: '',
  cpus: { boot: 1 },
  memory: { size },
  serial: { mode: 'tty' },
  noReboot: false,
  hostQuirks: 'auto',
};
const memory = new ArrayGuestMemory([{ gpa: 0, size }]);
for (let page = 0; page < size / 4096; page++) memory.writeU32(page * 4096, 0xfeed0000 + page);
const uart = Buffer.from(new Uint8Array(createUartState())).toString('base64');
let result: Record<string, unknown>;
try {
  saveSnapshot(dir, { config, kvm: sampleState(), devices: { uart, gedEvents: 0, virtio: [] }, memory });
  result = { saved: true };
} catch (e) {
  const err = e as { code?: string; message: string };
  result = { code: err.code, message: err.message };
}
result.left = fs.existsSync(dir) ? fs.readdirSync(dir) : null;
process.stdout.write(`${JSON.stringify(result)}\n`);
