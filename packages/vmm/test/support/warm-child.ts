// Child process of warm-threads.test.ts: boot a VM on the scripted backend, let it power off,
// dispose it, and ask the pool for more idle threads than it has; then return from the module
// with nothing else pending. The parent checks that the process exits by itself: the pool's idle
// threads never keep it alive, though its exit waits for those still loading.
import { Vmm, warmThreadStats, warmThreads } from '../../src/index';
import { ScriptedHypervisor } from './scripted-hypervisor';
import { printLine } from './scripted-vcpu';
import { hostProbe, poweroff } from './scripted-vmm';

const [kernel = ''] = process.argv.slice(2);
const hv = new ScriptedHypervisor([[[...printLine('child VM'), poweroff]]]);
const vm = await Vmm.builder()
  .kernel(kernel)
  .cpus(1)
  .memory('64M')
  .console()
  .start({ hypervisor: hv, probe: hostProbe });
await vm.console.waitFor('child VM');
const exit = await vm.exited;
await vm.dispose();
warmThreads(4);
process.stdout.write(`${JSON.stringify({ exit: exit.outcome, stats: warmThreadStats() })}\n`);
// At the exit, every idle thread has loaded: one terminated in the middle of loading koffi would
// abort the process (worker-pool.ts).
process.on('exit', () => process.stdout.write(`${JSON.stringify({ atExit: warmThreadStats() })}\n`));
