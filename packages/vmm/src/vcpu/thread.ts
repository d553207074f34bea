// The main thread's side of one vCPU: hand it to a pooled worker (io/worker-pool.ts), learn why
// it stopped, ask it to stop.
import type { Worker } from 'node:worker_threads';
import type { Vcpu } from '@vmm/hypervisor';
import { startPooledThread } from '../io/worker-pool';
import { LOADING_EXIT_MS } from '../worker-url';
import { debugLine } from '../log/debug';
import { runEarly, type EarlyRunPlan, type EarlyRunReport } from './early-run';
import {
  CONTROL_PAUSE,
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
  /** It posted 'ready': its modules are loaded and its vCPU attached. */
  private attached = false;
  /** Started in the constructor, or, for a vCPU the main thread runs first, during that run. */
  private worker: Worker | undefined;
  private readonly control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  private readonly words = new Int32Array(this.control);
  private pauseGen = 0;
  private parkedGen = 0;
  private parkWaiters: (() => void)[] = [];
  private finish: (reason: StopReason) => void = () => {};
  private ended: () => void = () => {};
  /** The worker has said it stopped, failed or exited (`stopped` may settle first: an early run's stop). */
  private readonly workerEnded: Promise<void>;
  /** The main thread may run the first exits while this thread loads (early-run.ts): once, at the first resume. */
  private early: EarlyRunPlan | undefined;
  /** What the main thread ran of this vCPU, if it ran any. */
  earlyRun: EarlyRunReport | undefined;

  /**
   * `early` with `startLater`: the thread is started by runEarly(), which the caller makes right
   * after the VM is loaded, at the main thread's first tick of running the guest (early-run.ts).
   */
  constructor(
    private readonly init: Omit<VcpuWorkerInit, 'control'>,
    private readonly vcpu: Pick<Vcpu, 'kick'>,
    private readonly notice?: (kind: string, line: string) => void,
    early?: EarlyRunPlan & { startLater?: boolean },
  ) {
    this.early = early;
    // A VM that starts paused: the thread parks before its first KVM_RUN (pause generation 1).
    if (init.startPaused) Atomics.store(this.words, CONTROL_PAUSE, (this.pauseGen = 1));
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    void this.ready.then(() => (this.attached = true));
    this.workerEnded = new Promise((resolve) => (this.ended = resolve));
    this.stopped = new Promise((resolve) => (this.finish = resolve));
    if (!early?.startLater) this.startThread();
  }

  /** The vCPU's worker, taken from the pool; once (startUnlessStopped: not after a stop). */
  private startThread(): void {
    if (this.worker) return;
    const worker = startPooledThread({ role: 'vcpu', init: { ...this.init, control: this.control } });
    this.worker = worker;
    // A running vCPU keeps the process alive (pooled workers start unref'd).
    worker.ref();
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'notice') this.notice?.(m.kind, m.line);
      if (m.type === 'ready') this.onReady();
      if (m.type === 'paused') {
        this.parkedGen = m.gen;
        if (m.gen === this.pauseGen) for (const w of this.parkWaiters.splice(0)) w();
      }
      if (m.type === 'stopped') {
        const { type: _type, ...reason } = m;
        this.finish(reason as StopReason);
        this.ended();
      }
    });
    worker.on('error', (e) => {
      this.finish({ reason: 'error', detail: e.stack ?? String(e) });
      this.ended();
    });
    worker.on('exit', (code) => {
      this.finish({ reason: 'error', detail: `vCPU worker exited (${code})` });
      this.ended();
    });
  }

  /** A vCPU whose thread was never started has stopped without one: nothing is left to end. */
  private stoppedWithoutThread(reason: StopReason): void {
    this.early = undefined;
    this.finish(reason);
    this.ended();
  }

  /** Ask the vCPU to leave its loop; it reports 'stopped' (or what stopped it first). */
  stop(): void {
    Atomics.store(this.words, CONTROL_STOP, 1);
    // A new pause generation, not only a notify: a thread that has posted 'paused' but not yet
    // reached its Atomics.wait would sleep through a notify, since the word it waits on had not
    // changed (a paused VM disposed at once hung so). Parked, it sees the stop and leaves.
    Atomics.store(this.words, CONTROL_PAUSE, ++this.pauseGen);
    Atomics.notify(this.words, CONTROL_PAUSE);
    this.vcpu.kick();
    if (!this.worker) this.stoppedWithoutThread({ reason: 'stopped' });
  }

  /**
   * Park the vCPU outside KVM_RUN; resolves 'paused' once it is parked, or 'stopped' when it
   * stopped first (the guest powered off as it was asked to pause, say).
   */
  pause(): Promise<'paused' | 'stopped'> {
    this.startUnlessStopped(); // its thread parks it and says so
    const gen = ++this.pauseGen;
    Atomics.store(this.words, CONTROL_PAUSE, gen);
    // A thread already parked for the pause before sleeps on that generation: wake it to answer
    // this one (two pauses at once hung so); a running one leaves KVM_RUN at the kick.
    Atomics.notify(this.words, CONTROL_PAUSE);
    this.vcpu.kick();
    const parked =
      this.parkedGen === gen
        ? Promise.resolve('paused' as const)
        : new Promise<'paused'>((resolve) => this.parkWaiters.push(() => resolve('paused')));
    return Promise.race([parked, this.stopped.then(() => 'stopped' as const)]);
  }

  /** Let a parked (or parking) vCPU run on. */
  resume(): void {
    for (const w of this.parkWaiters.splice(0)) w(); // a pause overtaken by this resume
    Atomics.store(this.words, CONTROL_PAUSE, 0);
    Atomics.notify(this.words, CONTROL_PAUSE);
  }

  /**
   * Run the vCPU's first exits on this (the main) thread until its own thread, still loading, is
   * ready to take it (early-run.ts); at once if that thread is ready, or the vCPU is paused or
   * stopped. Once: the first call takes the plan. It blocks this thread meanwhile: call it after
   * everything the vCPU's run needs is in place (every vCPU resumed).
   */
  runEarly(): void {
    const plan = this.early;
    this.early = undefined;
    if (!plan) return;
    const debug = process.env.VMM_DEBUG
      ? (line: string) =>
          debugLine(
            `vCPU ${this.init.id}`,
            `${line} (${performance.now().toFixed(1)} ms after the process started)`,
          )
      : undefined;
    const words = this.words;
    if (
      this.attached ||
      Atomics.load(words, CONTROL_PAUSE) !== 0 ||
      Atomics.load(words, CONTROL_STOP) !== 0
    ) {
      debug?.('no early run: its thread is ready, or it was paused or stopped meanwhile');
      this.startUnlessStopped();
      return;
    }
    const r = runEarly(
      plan,
      this.init,
      words,
      (kind, line) => this.notice?.(kind, line),
      () => this.startUnlessStopped(),
    );
    if (!r) {
      debug?.('no early run: its thread took it first, or the backend cannot lend the vCPU');
      this.startUnlessStopped();
      return;
    }
    const { outcome, exits, ms } = r.report;
    debug?.(`early run on the main thread: ${outcome} after ${exits} exits in ${ms.toFixed(1)} ms`);
    this.earlyRun = r.report;
    if (r.stop && !this.worker) this.stoppedWithoutThread(r.stop);
    else if (r.stop) this.finish(r.stop);
    else this.startUnlessStopped(); // a deadline before the first tick's start
  }

  private startUnlessStopped(): void {
    if (Atomics.load(this.words, CONTROL_STOP) === 0) this.startThread();
  }

  /**
   * End the thread. One that has not attached its vCPU yet is still loading: it is left to see the
   * stop once loaded and end by itself (at most LOADING_EXIT_MS more), and only then terminated.
   */
  async terminate(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    if (!this.attached) {
      let timer: NodeJS.Timeout | undefined;
      // Its own end, not the vCPU's: a guest that stopped in the main thread's early run stopped
      // the vCPU while this thread still loaded, and a thread terminated inside koffi's native
      // registration aborts the whole process.
      await Promise.race([this.workerEnded, new Promise((r) => (timer = setTimeout(r, LOADING_EXIT_MS)))]);
      clearTimeout(timer);
    }
    await worker.terminate();
  }
}
