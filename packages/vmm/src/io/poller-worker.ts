// A thread that blocks in poll(2) on eventfds (virtio queue ioeventfds) and tells the main thread
// which fired, so the main event loop never blocks and a guest's kick never needs a vCPU exit to
// userspace. fds[0] is the poller's own wake-up eventfd: the main thread writes it after sending a
// new fd list. It runs in a pooled worker (io/pool-worker.ts), which loads this module ahead and
// calls runPollerThread() with the init the main thread posts (io/eventfd-poller.ts).
//
// Kicks are coalesced: a fired eventfd sets its flag in shared memory, and one message is posted
// only when none is outstanding (the main thread clears `outstanding` before it reads the flags).
// However fast a guest kicks while the main thread is busy, what waits for it is one message and
// one flag per eventfd, never a message per kick.
import fs from 'node:fs';
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import koffi from 'koffi';
import { installSeccomp } from '@vmm/hypervisor';
import { POLLER_THREAD } from '../sandbox/seccomp-policies';
import type { SeccompSetting } from '../vcpu/protocol';
import { POLLFD_EVENTS, POLLFD_FD, POLLFD_REVENTS, POLLFD_SIZE, POLLIN } from './pollfd';
import { FIRED_OUTSTANDING, firedFlag } from './poller-protocol';

/** What the main thread hands the poller thread. */
export interface PollerThreadInit {
  /** The poller's wake-up eventfd (fds[0]). */
  wakeFd: number;
  /** New fd lists and the stop request arrive here (read with receiveMessageOnPort). */
  port: MessagePort;
  /** The outstanding word and one fired flag per watch (poller-protocol.ts). */
  fired: SharedArrayBuffer;
  seccomp: SeccompSetting;
}

// Bound when the module loads: in a pooled worker, before there is work for it.
const poll = koffi.load('libc.so.6').func('int poll(_Inout_ uint8_t *fds, uint64_t nfds, int timeout)') as (
  fds: Uint8Array,
  n: number,
  timeout: number,
) => number;

/** Watch until the main thread posts { stop: true }; the thread then exits. */
export function runPollerThread({ wakeFd, port, fired, seccomp }: PollerThreadInit): never {
  const flags = new Int32Array(fired);
  let fds: number[] = [];
  let table = new Uint8Array(POLLFD_SIZE);
  let view = new DataView(table.buffer);
  const scratch = Buffer.alloc(8);

  function rebuild(): void {
    table = new Uint8Array((fds.length + 1) * POLLFD_SIZE);
    view = new DataView(table.buffer);
    [wakeFd, ...fds].forEach((fd, i) => {
      view.setInt32(i * POLLFD_SIZE + POLLFD_FD, fd, true);
      view.setInt16(i * POLLFD_SIZE + POLLFD_EVENTS, POLLIN, true);
    });
  }

  function drain(fd: number): void {
    try {
      fs.readSync(fd, scratch, 0, 8, null);
    } catch {
      // EAGAIN: already drained
    }
  }

  rebuild();
  if (seccomp !== 'off') installSeccomp(POLLER_THREAD, seccomp);
  for (;;) {
    const n = poll(table, fds.length + 1, -1);
    if (n < 0) continue; // EINTR
    let any = false;
    for (let i = 0; i <= fds.length; i++) {
      const rev = view.getInt16(i * POLLFD_SIZE + POLLFD_REVENTS, true);
      view.setInt16(i * POLLFD_SIZE + POLLFD_REVENTS, 0, true);
      // Only a readable eventfd is a kick; POLLNVAL/POLLERR (an fd closed under us) is not.
      if ((rev & POLLIN) === 0) continue;
      if (i === 0) {
        drain(wakeFd);
        let msg;
        while ((msg = receiveMessageOnPort(port))) {
          const m = msg.message as { fds?: number[]; stop?: true };
          if (m.stop) process.exit(0);
          if (m.fds) fds = m.fds;
        }
        rebuild();
        break;
      }
      drain(fds[i - 1]!);
      Atomics.store(flags, firedFlag(i - 1), 1);
      any = true;
    }
    if (any && Atomics.compareExchange(flags, FIRED_OUTSTANDING, 0, 1) === 0) parentPort!.postMessage(0);
  }
}
