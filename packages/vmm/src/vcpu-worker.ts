// A vCPU thread's work: attach the vCPU, build this thread's view of the devices that answer
// port I/O in the vCPU thread (the UART over shared state, the ACPI registers, port 0x80), run the
// exit loop, report why it stopped. It runs in a pooled worker (io/pool-worker.ts), which loads
// this module ahead and calls runVcpuThread() with the init VcpuThread posts (vcpu/thread.ts).
import { parentPort } from 'node:worker_threads';
import { attachKvmVcpu, installSeccomp, type Vcpu } from '@vmm/hypervisor';
import { dynamicImport } from './dynamic-import';
import { vcpuThreadPolicy } from './sandbox/seccomp-policies';
import { runExitLoop } from './vcpu/exit-loop';
import { MailboxClient } from './vcpu/mmio-mailbox';
import { vcpuPioDevices } from './vcpu/pio-devices';
import { VirtioIsrWindow } from './vcpu/virtio-isr-window';
import {
  CONTROL_EARLY,
  CONTROL_PAUSE,
  CONTROL_STOP,
  EARLY_CLAIMED,
  EARLY_DONE,
  EARLY_HANDOFF,
  EARLY_NONE,
  EARLY_RUNNING,
  EARLY_STOPPED,
  type StopReason,
  type VcpuWorkerInit,
  type WorkerMessage,
} from './vcpu/protocol';

const post = (m: WorkerMessage) => parentPort!.postMessage(m);

type Attach = (handle: unknown) => Vcpu;
/**
 * The attach functions of the backends this thread has loaded already, taken without an import:
 * in the code-cached bundle (io/pool-worker-loader.ts) @vmm/hypervisor is inlined, and importing
 * it would load it a second time on the way to the guest's first instruction.
 */
const LOADED: Record<string, Record<string, Attach>> = {
  '@vmm/hypervisor': { attachKvmVcpu: attachKvmVcpu as Attach },
};

/** Run the vCPU `init` names until it stops; what stopped it is posted ('stopped'). */
export function runVcpuThread(init: VcpuWorkerInit): void {
  main(init).catch((e: unknown) =>
    post({ type: 'stopped', reason: 'error', detail: (e as Error).stack ?? String(e) }),
  );
}

async function main(init: VcpuWorkerInit): Promise<void> {
  const mod = LOADED[init.vcpu.module] ?? ((await dynamicImport(init.vcpu.module)) as Record<string, Attach>);
  const attach = mod[init.vcpu.exportName];
  if (typeof attach !== 'function') throw new Error(`${init.vcpu.module} has no ${init.vcpu.exportName}`);
  const vcpu = attach(init.vcpu.handle);
  let stop: StopReason;
  try {
    stop = serve(init, vcpu);
  } finally {
    // Before 'stopped' is posted: the main thread terminates this thread once it reads that, and
    // the kvm_run mapping made here is the process's, not the thread's. Left mapped, it held the
    // vCPU and with it the whole KVM VM (and its NX recovery thread) for the life of the process.
    vcpu.close();
  }
  post({ type: 'stopped', ...stop });
}

/** Run the attached vCPU until it stops (a guest event, a stop request, an error of the run). */
function serve(init: VcpuWorkerInit, vcpu: ReturnType<Attach>): StopReason {
  const control = new Int32Array(init.control);
  let event: StopReason | undefined;

  const stopRequested = () => Atomics.load(control, CONTROL_STOP) !== 0;
  const pauseRequested = () => Atomics.load(control, CONTROL_PAUSE) !== 0;
  const { pio, uart } = vcpuPioDevices(init, {
    notice: (kind, line) => post({ type: 'notice', kind, line }),
    // A stop (SIGTERM, vm.shutdown's force-off, dispose) must not wait on a full terminal or pipe
    // that nobody reads; a pause holds the byte back and parks (park() sends it).
    stopping: stopRequested,
    pausing: pauseRequested,
    event: (e) => (event = e),
  });

  const mmio = init.mmioMailbox ? new MailboxClient(init.mmioMailbox) : null;
  const fast = init.virtioIsr ? new VirtioIsrWindow(init.virtioIsr) : null;
  // Everything this thread opens or loads is in place: from here on it only runs the guest.
  if (init.seccomp !== 'off') installSeccomp(vcpuThreadPolicy(init.vcpu.threadIoctls ?? []), init.seccomp);
  post({ type: 'ready' });
  // Parked outside KVM_RUN: the vCPU's state is still and can be read (a snapshot) until resumed.
  // The word holds the pause request's generation: each request is answered once, even one that
  // comes while the thread is still parked for the one before.
  const park = (): void => {
    let reported = 0;
    for (;;) {
      const gen = Atomics.load(control, CONTROL_PAUSE);
      if (gen === 0 || stopRequested()) break;
      if (gen !== reported) post({ type: 'paused', gen: (reported = gen) });
      Atomics.wait(control, CONTROL_PAUSE, gen);
    }
    if (reported !== 0) post({ type: 'resumed' });
    // A COM1 byte a pause held back (its sink took nothing then) goes out before the guest runs on.
    if (!stopRequested()) uart.flushHeld();
  };
  park(); // a VM that starts paused parks before its first run
  if (!takeFromMainThread(control)) return { reason: 'stopped' };
  // A COM1 byte the main thread's run held back when it handed the vCPU on.
  if (!stopRequested()) uart.flushHeld();
  const stop = runExitLoop(
    vcpu,
    { pio, mmio, mmioFast: fast },
    {
      pending: (last) => {
        if (event) return event;
        if (pauseRequested()) {
          // Park only after a run that ran no guest code. An io or mmio exit is finished only when
          // KVM_RUN is entered again (an `out` leaves RIP on itself): parked now, a snapshot would
          // save it unfinished and the restored guest would do it again (a byte printed twice).
          // kick() makes the next run finish it and return at once.
          if (last.kind !== 'interrupted' && !stopRequested()) {
            vcpu.kick();
            return undefined;
          }
          park();
        }
        return stopRequested() ? { reason: 'stopped' } : undefined;
      },
      deviceError: (e) =>
        post({
          type: 'notice',
          kind: 'vcpu-device-error',
          line: `vCPU ${init.id}: a device failed on an exit and the access was dropped: ${(e as Error).message ?? String(e)}`,
        }),
    },
  );
  return stop;
}

/**
 * The vCPU from the main thread, if it started running it while this thread loaded
 * (vcpu/early-run.ts): ask for it and wait until it has left KVM_RUN (at most its timer's tick).
 * False: the guest stopped there, and the main thread reports why.
 */
function takeFromMainThread(control: Int32Array): boolean {
  if (Atomics.compareExchange(control, CONTROL_EARLY, EARLY_NONE, EARLY_CLAIMED) === EARLY_NONE) return true;
  Atomics.compareExchange(control, CONTROL_EARLY, EARLY_RUNNING, EARLY_HANDOFF);
  for (;;) {
    const s = Atomics.load(control, CONTROL_EARLY);
    if (s === EARLY_DONE) return true;
    if (s === EARLY_STOPPED) return false;
    Atomics.wait(control, CONTROL_EARLY, s);
  }
}
