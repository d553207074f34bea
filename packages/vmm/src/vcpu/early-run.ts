// A vCPU's first exits run on the main thread while the vCPU's own thread is still loading. A
// Node worker's bootstrap (~25 ms on the hosts measured) is longer than everything else `vmm run`
// does before the guest's first instruction, so without this the guest waits on it.
//
// The main thread blocks in KVM_RUN meanwhile: its event loop is stopped, so this is for a process
// whose main thread has nothing else to do then (the CLI: VmmOptions.earlyRun), never a library's
// default. A timer kicks its KVM_RUN every tick (Vcpu.leaseThread), so whatever the guest does
// (a `hlt` that only an in-kernel timer ends makes no exit), the main thread looks up at least
// that often: the vCPU's thread, once ready, asks for the vCPU (protocol.ts CONTROL_EARLY) and gets
// it at the next exit. The exits are handled as on the vCPU's thread: the same port devices over
// the same shared state (pio-devices.ts), MMIO straight to the devices the mailbox would reach.
import type { Vcpu } from '@vmm/hypervisor';
import { runExitLoop } from './exit-loop';
import { DirectMmio, type MmioHandler } from './mmio-mailbox';
import { vcpuPioDevices } from './pio-devices';
import {
  CONTROL_EARLY,
  EARLY_DONE,
  EARLY_HANDOFF,
  EARLY_NONE,
  EARLY_RUNNING,
  EARLY_STOPPED,
  type StopReason,
  type VcpuWorkerInit,
} from './protocol';
import { VirtioIsrWindow } from './virtio-isr-window';

/** How often the main thread's KVM_RUN is kicked to look for the vCPU thread's request. */
export const EARLY_RUN_TICK_MS = 1;
/**
 * The longest the main thread runs a vCPU: a thread that never gets ready (it failed to load)
 * must not keep the event loop, which would report that, blocked for good. A nested-KVM host
 * (QEMU TCG) takes ~0.7 s to ready a worker.
 */
export const EARLY_RUN_MAX_MS = 3000;

/** What the main thread ran of a vCPU before its thread took it. */
export interface EarlyRunReport {
  vcpu: number;
  /** handoff: the vCPU's thread took it; deadline: EARLY_RUN_MAX_MS passed first; stopped: the guest stopped. */
  outcome: 'handoff' | 'deadline' | 'stopped';
  /** Exits handled on the main thread (the timer's kicks among them). */
  exits: number;
  ms: number;
}

export interface EarlyRunPlan {
  /** The vCPU as the main thread holds it. */
  vcpu: Vcpu;
  /** The devices MMIO exits reach (null: none). */
  mmio: MmioHandler | null;
  maxMs?: number;
}

/**
 * Run the vCPU here until its thread asks for it, the guest stops, or maxMs passes. Undefined:
 * its thread had taken it already (or the backend cannot lend it to this thread). A stop is
 * returned as the vCPU's; its thread then ends without running it. `firstTick` is called once, at
 * the timer's first kick (the guest has run for a tick): the vCPU's thread is started then, so
 * that what starting it costs this thread comes after the guest's first instructions, not before.
 */
export function runEarly(
  plan: EarlyRunPlan,
  init: Pick<VcpuWorkerInit, 'id' | 'uart' | 'gedEvents' | 'virtioIsr'>,
  control: Int32Array,
  notice: (kind: string, line: string) => void,
  firstTick?: () => void,
): { report: EarlyRunReport; stop?: StopReason } | undefined {
  const { vcpu } = plan;
  if (!vcpu.leaseThread) return undefined;
  if (Atomics.compareExchange(control, CONTROL_EARLY, EARLY_NONE, EARLY_RUNNING) !== EARLY_NONE)
    return undefined;
  const t0 = nowMs();
  const deadline = t0 + (plan.maxMs ?? EARLY_RUN_MAX_MS);
  let exits = 0;
  let event: StopReason | undefined;
  let stop: StopReason | 'handoff' | 'deadline';
  const asked = () => Atomics.load(control, CONTROL_EARLY) === EARLY_HANDOFF;
  const leaving = () => asked() || nowMs() >= deadline;
  let lease: ReturnType<NonNullable<Vcpu['leaseThread']>>;
  try {
    lease = vcpu.leaseThread(EARLY_RUN_TICK_MS);
  } catch (e) {
    // Nothing ran: the vCPU's thread runs it from the start, as without an early run.
    notice(
      'early-run',
      `vCPU ${init.id}: the main thread could not run its first exits: ${(e as Error).message}`,
    );
    Atomics.store(control, CONTROL_EARLY, EARLY_DONE);
    Atomics.notify(control, CONTROL_EARLY);
    return undefined;
  }
  try {
    try {
      const { pio } = vcpuPioDevices(init, {
        notice,
        stopping: () => false,
        // A full serial sink holds its byte back when the vCPU is to be handed on: its thread sends it.
        pausing: leaving,
        event: (e) => (event = e),
      });
      stop = runExitLoop<'handoff' | 'deadline'>(
        vcpu,
        {
          pio,
          mmio: plan.mmio ? new DirectMmio(plan.mmio) : null,
          mmioFast: init.virtioIsr ? new VirtioIsrWindow(init.virtioIsr) : null,
        },
        {
          pending: (last) => {
            exits++;
            if (event) return event;
            if (asked()) return 'handoff';
            if (last.kind !== 'interrupted') return undefined;
            if (firstTick) {
              const tick = firstTick;
              firstTick = undefined;
              tick();
            }
            // The clock is read at the timer's kicks only (every tick): not at every exit.
            return nowMs() >= deadline ? 'deadline' : undefined;
          },
          deviceError: (e) =>
            notice(
              'vcpu-device-error',
              `vCPU ${init.id}: a device failed on an exit and the access was dropped: ${(e as Error).message ?? String(e)}`,
            ),
        },
      );
    } finally {
      lease.release();
    }
  } catch (e) {
    stop = { reason: 'error', detail: (e as Error).stack ?? String(e) };
  }
  const stopped = typeof stop === 'object';
  Atomics.store(control, CONTROL_EARLY, stopped ? EARLY_STOPPED : EARLY_DONE);
  Atomics.notify(control, CONTROL_EARLY);
  const report: EarlyRunReport = {
    vcpu: init.id,
    outcome: stopped ? 'stopped' : stop === 'handoff' ? 'handoff' : 'deadline',
    exits,
    ms: nowMs() - t0,
  };
  return typeof stop === 'object' ? { report, stop } : { report };
}

/**
 * Milliseconds of the monotonic clock. Not performance.now(): the first use of `performance` loads
 * Node's perf_hooks modules (~0.7 ms), here on the way to the guest's first instruction.
 */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
