// Child process of preloads.test.ts, run with a preload: start the lifecycle guest from the built
// library (its first VM takes a vCPU thread that is still loading), see it count, dispose it.
const [dist, kernel] = process.argv.slice(2);
const { Vmm } = await import(dist);
const vm = await Vmm.builder().kernel(kernel).memory('64M').console({ capture: true }).start();
await vm.console.waitFor(/^COUNT 2\n/m, { timeoutMs: 60_000 });
await vm.dispose();
process.stdout.write('COUNTED\n');
