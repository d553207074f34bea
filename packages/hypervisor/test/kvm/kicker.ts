// Tests only: a watchdog for a test that blocks its own thread in KVM_RUN (kicker-worker.ts).
import type { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { libc } from '../../src/sys/libc';
import { nextMessage, startTsWorker } from '../../src/test-support/ts-worker';

/** Kicks the vCPU this thread runs out of KVM_RUN after a while, unless the run ended (kicker-worker.ts). */
export class Kicker {
  private gen = 0;
  private constructor(
    private readonly worker: Worker,
    private readonly words: Int32Array,
  ) {}

  static async start(): Promise<Kicker> {
    const shared = new SharedArrayBuffer(20);
    const worker = startTsWorker(new URL('./kicker-worker.ts', import.meta.url), {
      workerData: { words: shared },
    });
    expect(await nextMessage(worker)).toBe('ready');
    return new Kicker(worker, new Int32Array(shared));
  }

  /** Runs `fn`, which blocks this thread in KVM_RUN, with a kick due after `ms`. */
  during<T>(ms: number, fn: () => T): T {
    Atomics.store(this.words, 1, ms);
    Atomics.store(this.words, 3, libc().gettid());
    Atomics.store(this.words, 0, ++this.gen);
    Atomics.notify(this.words, 0);
    try {
      return fn();
    } finally {
      Atomics.store(this.words, 2, this.gen);
      Atomics.notify(this.words, 2);
    }
  }

  /** How many times it had to kick: a run that should have ended by itself and did not. */
  get kicks(): number {
    return Atomics.load(this.words, 4);
  }

  async stop(): Promise<void> {
    Atomics.store(this.words, 0, -1);
    Atomics.notify(this.words, 0);
    await this.worker.terminate();
  }
}
