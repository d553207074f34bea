// A plain-node child of `pnpm bench boot` and `pnpm bench snapshot`: those run under tsx, whose
// loader reaches into every worker thread and inflates what is timed, so the in-process numbers
// come from here, with the built library. Prints one JSON line of times in ms.
//   in-process.mjs start KERNEL MEMORY N   Vmm.builder()...start(): → running (start() resolved)
//                                           and → the guest's first console line; the guest then
//                                           runs to its end and the VM is disposed
//   in-process.mjs restore SNAPSHOT N      Vm.restore() + resume(): → running and → the first
//                                           COUNT line; then disposed
//   in-process.mjs restore-shell SNAPSHOT N  the same for a Linux guest's shell: → running and →
//                                           its answer to a command typed after resume()
//   ... restore[-shell] SNAPSHOT N prefault  restored with { prefault: true }
// One process, N runs one after another. Before each run after the first it waits until the
// worker pool has its threads loaded again (the pool refills in the background after a take), so
// runs 2..N show a warm pool; run 1 also pays for the pool starting (at Vmm.create).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, target, ...rest] = process.argv.slice(2);
const dist = new URL('../../packages/vmm/dist/index.js', import.meta.url);
const { Vm, Vmm, warmThreadStats } = await import(dist.href);

/** Wait (bounded) until the pool holds `n` loaded threads. */
async function warmPool(n) {
  for (let i = 0; i < 500 && warmThreadStats().idleLoaded < n; i++) await sleep(10);
}

/** Time `open()` to the VM running and to the first console line matching `line`. */
async function once(open, line) {
  const t0 = performance.now();
  let first;
  const vm = await open((v) =>
    v.on('console-line', (l) => {
      if (first === undefined && line.test(l)) first = performance.now() - t0;
    }),
  );
  const running = performance.now() - t0;
  await vm.console.waitFor(line, { timeoutMs: 60_000 });
  first ??= performance.now() - t0;
  return { vm, running, first };
}

const runs = [];
if (mode === 'start') {
  const [memory = '512M', n = '10'] = rest;
  for (let i = 0; i < Number(n); i++) {
    if (i > 0) await warmPool(2);
    const { vm, running, first } = await once(async (listen) => {
      const v = await Vmm.builder().kernel(target).cpus(1).memory(memory).console({ capture: true }).start();
      listen(v);
      return v;
    }, /\S/);
    runs.push({ running, first });
    await vm.exited;
    await vm.dispose();
  }
} else if (mode === 'restore' || mode === 'restore-shell') {
  const [n = '10', how] = rest;
  const shell = mode === 'restore-shell';
  const prefault = how === 'prefault';
  for (let i = 0; i < Number(n); i++) {
    if (i > 0) await warmPool(2);
    const { vm, running, first } = await once(
      async (listen) => {
        const v = await Vm.restore(target, { prefault });
        listen(v);
        await v.resume();
        if (shell) v.console.write('echo "x=$((6*7))"\n');
        return v;
      },
      shell ? /^x=42/m : /^COUNT \d+/m,
    );
    runs.push({ running, first });
    await vm.dispose();
  }
} else {
  throw new Error(
    `usage: in-process.mjs start KERNEL MEMORY N | restore[-shell] SNAPSHOT N [prefault] (got ${mode})`,
  );
}
process.stdout.write(`${JSON.stringify({ runs, pool: warmThreadStats() })}\n`);
