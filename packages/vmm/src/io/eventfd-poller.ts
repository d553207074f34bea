// Main-thread side of the poller: watch eventfds and call back when one fires. The poller thread
// sets a flag per fired eventfd and posts one message while none is outstanding (poller-worker.ts):
// bounded memory whatever the kick rate.
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { EventNotifier } from '@vmm/hypervisor';
import type { SeccompSetting } from '../vcpu/protocol';
import { startWorker } from '../worker-url';
import { FIRED_OUTSTANDING, FIRED_WORDS, MAX_WATCHES, firedFlag } from './poller-protocol';

export class EventfdPoller {
  private readonly worker: Worker;
  private readonly port: MessagePort;
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
    seccomp: SeccompSetting = 'off',
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = startWorker('poller-worker', {
      workerData: { wakeFd: wake.fd, port: port2, fired: this.flags.buffer, seccomp },
      transferList: [port2],
    });
    this.worker.on('message', () => this.onMessage());
    this.worker.unref();
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
    this.port.postMessage({ fds: this.watches.map((w) => w.notifier.fd) });
    this.wake.signal();
  }

  /** Stop watching every notifier (before they are closed: a closed fd would poll as POLLNVAL). */
  unwatchAll(): void {
    this.watches.length = 0;
    for (let i = 1; i < FIRED_WORDS; i++) Atomics.store(this.flags, i, 0);
    this.port.postMessage({ fds: [] });
    this.wake.signal();
  }

  /** Stop the thread, then close the wake-up notifier (the poller owns it). */
  async close(): Promise<void> {
    this.port.postMessage({ stop: true });
    this.wake.signal();
    await this.worker.terminate();
    this.port.close();
    this.wake.close();
  }
}
