// Child process of unread-output.test.ts: the library with COM1 captured and a guest (`stream`)
// that writes it without a pause. This thread stays busy long enough for the capture pipe to fill,
// then types into the console. Prints one JSON line when its event loop is back and the guest's
// output flows again. A monitor that deadlocks here (the vCPU waiting on the full pipe while
// holding the UART's lock, this thread waiting for the lock) never prints it; the parent bounds
// the wait, which it could not do in its own thread.
import { Vmm } from '../../src/index';
import { NESTED_VM } from './kvm-available';

const [kernel = ''] = process.argv.slice(2);
await using vm = await Vmm.builder().kernel(kernel).memory('64M').console({ capture: true }).start();
await vm.console.waitFor('STREAM-READY', { timeoutMs: 60_000 });
// Busy long enough for the guest to fill the pipe (64 KiB) twice over at the rate it writes here
// (a few tens of KB/s on an emulated KVM); a quarter over inside the nested-KVM VM, where it
// writes ~1.3 KB/s and twice over took 102 s.
const from = vm.console.output.length;
await new Promise((r) => setTimeout(r, 1000));
const perSecond = Math.max(vm.console.output.length - from, 1);
const over = NESTED_VM ? 1.25 : 2;
const busyMs = Math.min((over * 65536 * 1000) / perSecond, 120_000);
const busyUntil = Date.now() + busyMs;
while (Date.now() < busyUntil);
const t0 = Date.now();
vm.console.write('x');
await new Promise((r) => setTimeout(r, 10));
const loopBackMs = Date.now() - t0;
await vm.console.waitFor(/S \d+\n/, { timeoutMs: 30_000, fromNow: true });
process.stdout.write(`${JSON.stringify({ perSecond, busyMs: Math.round(busyMs), loopBackMs })}\n`);
