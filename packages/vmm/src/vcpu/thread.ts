// The main thread's side of one vCPU: start its worker, learn why it stopped, ask it to stop.
import type { Worker } from 'node:worker_threads';
import type { Vcpu } from '@vmm/hypervisor';
import { startWorker } from '../worker-url';
import {
  CONTROL_STOP,
  CONTROL_WORDS,
  type StopReason,
  type VcpuWorkerInit,
  type WorkerMessage,
} from './protocol';

export class VcpuThread {
  readonly stopped: Promise<StopReason>;
  /** Resolves when the thread has attached its vCPU and is about to run it (never, if it stopped first). */
  readonly ready: Promise<void>;
  private onReady: () => void = () => {};
  private readonly worker: Worker;
  private readonly control = new SharedArrayBuffer(CONTROL_WORDS * 4);

  constructor(
    init: Omit<VcpuWorkerInit, 'control'>,
    private readonly vcpu: Pick<Vcpu, 'kick'>,
    notice?: (kind: string, line: string) => void,
  ) {
    this.worker = startWorker('vcpu-worker', { workerData: { ...init, control: this.control } });
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    this.stopped = new Promise((resolve) => {
      this.worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'notice') notice?.(m.kind, m.line);
        if (m.type === 'ready') this.onReady();
        if (m.type === 'stopped') {
          const { type: _type, ...reason } = m;
          resolve(reason as StopReason);
        }
      });
      this.worker.on('error', (e) => resolve({ reason: 'error', detail: e.stack ?? String(e) }));
      this.worker.on('exit', (code) => resolve({ reason: 'error', detail: `vCPU worker exited (${code})` }));
    });
  }

  /** Ask the vCPU to leave its loop; it reports 'stopped' (or what stopped it first). */
  stop(): void {
    Atomics.store(new Int32Array(this.control), CONTROL_STOP, 1);
    this.vcpu.kick();
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
