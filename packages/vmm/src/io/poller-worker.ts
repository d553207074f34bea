// A thread that blocks in poll(2) on eventfds (virtio queue ioeventfds) and tells the main thread
// which fired, so the main event loop never blocks and a guest's kick never needs a vCPU exit to
// userspace. fds[0] is the poller's own wake-up eventfd: the main thread writes it after sending a
// new fd list.
import fs from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import koffi from 'koffi';
import { POLLFD_EVENTS, POLLFD_FD, POLLFD_REVENTS, POLLFD_SIZE, POLLIN } from './pollfd';

const { wakeFd, port } = workerData as { wakeFd: number; port: MessagePort };
const poll = koffi.load('libc.so.6').func('int poll(_Inout_ uint8_t *fds, uint64_t nfds, int timeout)') as (
  fds: Uint8Array,
  n: number,
  timeout: number,
) => number;

let fds: number[] = [];
let table = new Uint8Array(POLLFD_SIZE);
const scratch = Buffer.alloc(8);

function rebuild(): void {
  table = new Uint8Array((fds.length + 1) * POLLFD_SIZE);
  const dv = new DataView(table.buffer);
  [wakeFd, ...fds].forEach((fd, i) => {
    dv.setInt32(i * POLLFD_SIZE + POLLFD_FD, fd, true);
    dv.setInt16(i * POLLFD_SIZE + POLLFD_EVENTS, POLLIN, true);
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
for (;;) {
  const n = poll(table, fds.length + 1, -1);
  if (n < 0) continue; // EINTR
  const dv = new DataView(table.buffer);
  const fired: number[] = [];
  for (let i = 0; i <= fds.length; i++) {
    const rev = dv.getInt16(i * POLLFD_SIZE + POLLFD_REVENTS, true);
    dv.setInt16(i * POLLFD_SIZE + POLLFD_REVENTS, 0, true);
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
    fired.push(i - 1);
  }
  if (fired.length > 0) parentPort!.postMessage(fired);
}
