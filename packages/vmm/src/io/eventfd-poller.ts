// Main-thread side of the poller: watch eventfds and call back when one fires. The poller thread
// (a pooled worker: io/worker-pool.ts) sets a flag per fired eventfd and posts one message while
// none is outstanding (poller-worker.ts): bounded memory whatever the kick rate.
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { EventNotifier } from '@vmm/hypervisor';
import type { SeccompSetting } from '../vcpu/protocol';
import { startPooledThread } from './worker-pool';
import { FIRED_OUTSTANDING, FIRED_WORDS, MAX_WATCHES, firedFlag } from './poller-protocol';

/** How long close() waits for the thread to exit by itself before it is terminated. */
const CLOSE_WAIT_MS = 2000;

export class EventfdPoller {
  /** Started at the first watch(): a VM whose devices all poll their own kicks never starts it. */
  private thread: { worker: Worker; port: MessagePort; exited: Promise<void> } | undefined;
  private readonly flags = new Int32Array(new SharedArrayBuffer(4 * FIRED_WORDS));
  private readonly watches: { notifier: EventNotifier; onFire: () => void }[] = [];
  /** Messages from the poller thread (one per batch of kicks seen while none was outstanding). */
  messages = 0;

  /**
   * @param wake the thread's wake-up notifier, closed by close()
   * @param seccomp the poller thread's filter (sandbox/seccomp-policies.ts), default 'off'.
   */
  constructor(
    private readonly wake: EventNotifier,
    private readonly seccomp: SeccompSetting = 'off',
  ) {}

  private start(): { worker: Worker; port: MessagePort; exited: Promise<void> } {
    const { port1, port2 } = new MessageChannel();
    // Unref'd (as pooled workers start): the poller never keeps the process alive.
    const worker = startPooledThread(
      {
        role: 'poller',
        init: {
          wakeFd: this.wake.fd,
          port: port2,
          fired: this.flags.buffer as SharedArrayBuffer,
          seccomp: this.seccomp,
        },
      },
      [port2],
    );
    worker.on('message', () => this.onMessage());
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.thread = { worker, port: port1, exited };
    return this.thread;
  }

  /** Whether the poller's thread was started (a device's kicks came to this thread). */
  get started(): boolean {
    return this.thread !== undefined;
  }

  private onMessage(): void {
    this.messages++;
    // Cleared before the flags are read: a kick after this point posts a new message.
    Atomics.store(this.flags, FIRED_OUTSTANDING, 0);
    for (let i = 0; i < this.watches.length; i++) {
      if (Atomics.exchange(this.flags, firedFlag(i), 0) === 1) this.watches[i]!.onFire();
    }
  }

  /** Call `onFire` (on the main thread) each time `notifier` is signalled; it is drained for you. */
  watch(notifier: EventNotifier, onFire: () => void): void {
    if (this.watches.length >= MAX_WATCHES)
      throw new RangeError(`an eventfd poller watches at most ${MAX_WATCHES}`);
    this.watches.push({ notifier, onFire });
    (this.thread ?? this.start()).port.postMessage({ fds: this.watches.map((w) => w.notifier.fd) });
    this.wake.signal();
  }

  /** Stop watching every notifier (before they are closed: a closed fd would poll as POLLNVAL). */
  unwatchAll(): void {
    this.watches.length = 0;
    for (let i = 1; i < FIRED_WORDS; i++) Atomics.store(this.flags, i, 0);
    if (!this.thread) return;
    this.thread.port.postMessage({ fds: [] });
    this.wake.signal();
  }

  /**
   * Stop the thread, then close the wake-up notifier (the poller owns it). The thread is asked to
   * exit and given time to: one still loading its modules would leave the files it was reading
   * open in this process if it were terminated in the middle.
   */
  async close(): Promise<void> {
    const t = this.thread;
    if (t) {
      t.port.postMessage({ stop: true });
      this.wake.signal();
      // Awaited: the thread holds the process until it is gone (it is unref'd while it serves).
      t.worker.ref();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([t.exited, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
      await t.worker.terminate();
      t.port.close();
    }
    this.wake.close();
  }
}
