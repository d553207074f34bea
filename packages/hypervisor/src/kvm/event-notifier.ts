// EventNotifier on an eventfd (eventfd(2)): an 8-byte counter the guest side (ioeventfd) or the
// host side (irqfd) signals without a vCPU exit to userspace.
import { callError, check } from '../sys/call';
import { EAGAIN } from '../sys/errno';
import { lastErrno, libc } from '../sys/libc';
import type { EventNotifier } from '../types';

// <sys/eventfd.h> (x86_64).
const EFD_CLOEXEC = 0x80000;
const EFD_NONBLOCK = 0x800;

export class EventfdNotifier implements EventNotifier {
  private readonly buf = new Uint8Array(8);
  private readonly view = new DataView(this.buf.buffer);
  private closed = false;

  private constructor(readonly fd: number) {}

  static create(): EventfdNotifier {
    return new EventfdNotifier(check('eventfd', libc().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)));
  }

  drain(): bigint {
    const n = libc().read(this.fd, this.buf, 8);
    if (n === 8) return this.view.getBigUint64(0, true);
    const errno = lastErrno();
    if (n < 0 && errno === EAGAIN) return 0n;
    throw callError('read', errno, `eventfd ${this.fd}`);
  }

  signal(): void {
    this.view.setBigUint64(0, 1n, true);
    const n = libc().write(this.fd, this.buf, 8);
    // EAGAIN: the counter is at its maximum; the reader is behind but will see the event.
    if (n !== 8 && lastErrno() !== EAGAIN) throw callError('write', lastErrno(), `eventfd ${this.fd}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
  }
}
