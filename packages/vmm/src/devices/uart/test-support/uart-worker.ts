// Tests only: a second vCPU thread driving the same UART (shared state) as the main thread, at
// the same time. It waits for `go`, writes 'b's to THR while the main thread writes its 'a's
// (at least `count`, and on until the main thread has written as many, plus one after: so the two
// runs overlap however the threads are scheduled), reads the main thread's input line from RBR,
// and answers with its own through the receive ring (pushInput, as host input does).
import { parentPort, workerData } from 'node:worker_threads';
import { COM1_PORT, Uart16550 } from '../uart16550';

const { state, fd, count, go } = workerData as {
  state: SharedArrayBuffer;
  fd: number;
  count: number;
  go: SharedArrayBuffer;
};
const uart = new Uart16550(state, { fd }, { trigger: () => {} });
// go[0]: start; go[1]: bytes the main thread wrote; go[2]: bytes this thread wrote.
const flag = new Int32Array(go);
Atomics.wait(flag, 0, 0);
const b = Uint8Array.of(0x62);
let n = 0;
do {
  uart.pioWrite(COM1_PORT, b);
  Atomics.store(flag, 2, ++n);
} while (n < count || Atomics.load(flag, 1) < count);
// Read what the main thread typed (LSR bit 0: data ready), up to the newline.
const one = new Uint8Array(1);
let line = '';
for (let spins = 0; !line.endsWith('\n') && spins < 50_000_000; spins++) {
  uart.pioRead(COM1_PORT + 5, one);
  if (one[0]! & 1) {
    uart.pioRead(COM1_PORT, one);
    line += String.fromCharCode(one[0]!);
  }
}
uart.pushInput(Buffer.from('pong from the worker\n'));
parentPort!.postMessage({ line, wrote: n });
