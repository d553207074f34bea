// Tests only: a thread (a vCPU's, or the main thread's input side) driving a UART over shared
// state on command, each answer posted back, so that a test can see one thread go on while
// another waits in the UART. Commands: { write: byte } (THR, then the output counters),
// { input: text } (pushInput, how many bytes fitted), { lsr: true } (LSR's value), { flush: true }
// (flushHeld, then the counters). `control`: word 0 stop, word 1 pause, as a vCPU thread's.
import { parentPort, workerData } from 'node:worker_threads';
import { COM1_PORT, Uart16550 } from '../uart16550';

const { state, fd, control } = workerData as {
  state: SharedArrayBuffer;
  fd: number | null;
  control: SharedArrayBuffer;
};
const words = new Int32Array(control);
const notices: string[] = [];
const uart = new Uart16550(
  state,
  fd === null
    ? null
    : {
        fd,
        notice: (_k, line) => notices.push(line),
        stopping: () => Atomics.load(words, 0) !== 0,
        pausing: () => Atomics.load(words, 1) !== 0,
      },
  { trigger: () => {} },
);
const one = new Uint8Array(1);
parentPort!.on('message', (m: { write?: number; input?: string; lsr?: boolean; flush?: boolean }) => {
  if (m.write !== undefined || m.flush) {
    if (m.write !== undefined) uart.pioWrite(COM1_PORT, Uint8Array.of(m.write));
    else uart.flushHeld();
    parentPort!.postMessage({ output: uart.output, notices });
  } else if (m.input !== undefined) {
    parentPort!.postMessage({ took: uart.pushInput(Buffer.from(m.input)) });
  } else if (m.lsr) {
    uart.pioRead(COM1_PORT + 5, one);
    parentPort!.postMessage({ lsr: one[0] });
  }
});
parentPort!.postMessage({ up: true });
