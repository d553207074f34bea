// A table of struct pollfd (fs-layout.ts POLLFD) for poll(2), written only here.
import { POLLIN } from './fs-constants';
import { POLLFD } from './fs-layout';

/** A table of struct pollfd that waits for POLLIN on each of `fds`, in order. */
export function pollTable(fds: readonly number[]): Uint8Array {
  const t = new Uint8Array(fds.length * POLLFD.size);
  const dv = new DataView(t.buffer);
  fds.forEach((fd, i) => {
    dv.setInt32(i * POLLFD.size + POLLFD.fields.fd, fd, true);
    dv.setInt16(i * POLLFD.size + POLLFD.fields.events, POLLIN, true);
  });
  return t;
}
