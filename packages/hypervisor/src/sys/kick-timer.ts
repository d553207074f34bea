// A periodic kick aimed at one thread: a POSIX timer that sends the vCPU kick signal
// (sys/signals.ts) to the thread that made it (SIGEV_THREAD_ID), so a KVM_RUN that thread makes
// returns EINTR at least every interval whatever the guest does. For a thread that runs a vCPU
// for a while and must look up in between without anyone to kick it (its own event loop blocked).
import { check } from './call';
import { libc } from './libc';
import { vcpuKickSignal } from './signals';

// include/uapi/linux/time.h
const CLOCK_MONOTONIC = 1;
// include/uapi/asm-generic/siginfo.h: struct sigevent { sigval_t sigev_value; int sigev_signo;
// int sigev_notify; union { int _pad[...]; int _tid; ... } } (64 bytes on every 64-bit arch).
const SIGEVENT_SIZE = 64;
const SIGEV_SIGNO = 8;
const SIGEV_NOTIFY = 12;
const SIGEV_TID = 16;
const SIGEV_THREAD_ID = 4;
// struct itimerspec { struct timespec it_interval, it_value; }, each { s64 tv_sec; long tv_nsec }.
const ITIMERSPEC_SIZE = 32;

/** Kicks the calling thread every `intervalNs` until closed. */
export class KickTimer {
  private readonly id: bigint;
  private closed = false;

  constructor(intervalNs: number) {
    if (!Number.isSafeInteger(intervalNs) || intervalNs <= 0)
      throw new RangeError(`interval ${intervalNs} ns`);
    const c = libc();
    const sev = new DataView(new ArrayBuffer(SIGEVENT_SIZE));
    sev.setInt32(SIGEV_SIGNO, vcpuKickSignal(), true);
    sev.setInt32(SIGEV_NOTIFY, SIGEV_THREAD_ID, true);
    sev.setInt32(SIGEV_TID, c.gettid(), true);
    const id = new BigUint64Array(1);
    check('timer_create', c.timerCreate(CLOCK_MONOTONIC, new Uint8Array(sev.buffer), id));
    this.id = id[0]!;
    const spec = new DataView(new ArrayBuffer(ITIMERSPEC_SIZE));
    const sec = BigInt(Math.floor(intervalNs / 1e9));
    const nsec = BigInt(intervalNs % 1e9);
    for (const at of [0, 16]) {
      spec.setBigInt64(at, sec, true);
      spec.setBigInt64(at + 8, nsec, true);
    }
    try {
      check('timer_settime', c.timerSettime(this.id, 0, new Uint8Array(spec.buffer), null));
    } catch (e) {
      c.timerDelete(this.id);
      throw e;
    }
  }

  /** Stop it. A kick it sent already may still be pending on the thread: the caller drains it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().timerDelete(this.id);
  }
}
