// Tests only: a thread that signals an eventfd `count` times (a guest kicking as fast as it can),
// then sets word 0 of `done` and wakes whoever waits on it.
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';

const { fd, count, done } = workerData as { fd: number; count: number; done: SharedArrayBuffer };
const one = Buffer.alloc(8);
one.writeBigUInt64LE(1n);
for (let i = 0; i < count; i++) fs.writeSync(fd, one);
const word = new Int32Array(done);
Atomics.store(word, 0, 1);
Atomics.notify(word, 0);
