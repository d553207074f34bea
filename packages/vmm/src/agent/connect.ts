// AgentClient.connect: CONNECT (agent/protocol.h). After the agent's OK the stream itself is handed
// back, carrying the TCP connection's bytes raw: end() on it half-closes the guest's connection
// (shutdown(SHUT_WR) there), and the guest peer's end arrives as 'end'. For the peer's end not to
// close the host side at once, open() must give streams with allowHalfOpen (net.connect option).
import type { Duplex } from 'node:stream';
import { FrameChannel } from './channel';
import { guestError, protocolError } from './errors';
import { hostDeadline, timeoutGrace } from './guards';
import { T_CONNECT, T_ERROR, T_OK, decodeError, encodeConnect, expectEmpty } from './protocol';

export interface ConnectOptions {
  /** Give up connecting after this many milliseconds (ETIMEDOUT); default: the guest kernel's. */
  timeoutMs?: number;
  /** With timeoutMs: how much longer the host waits for the guest's answer before connect rejects
      with AGENT_TIMEOUT (a wedged guest); default 10 000 ms. */
  timeoutGraceMs?: number;
}

export async function runConnect(
  open: () => Promise<Duplex>,
  host: string,
  port: number,
  opts: ConnectOptions = {},
): Promise<Duplex> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host; // "[::1]"
  const what = `connect to ${host} port ${port}`;
  const request = encodeConnect(bare, port, opts.timeoutMs ?? 0);
  const grace = timeoutGrace('connect', opts.timeoutGraceMs);
  const ch = await FrameChannel.open(open, 'connect');
  const disarm = hostDeadline(ch, opts.timeoutMs, grace, 'connect', what);
  try {
    await ch.send(T_CONNECT, request);
    const reply = await ch.next();
    if (reply.type === T_ERROR) {
      const e = decodeError('connect', reply.payload);
      throw guestError('connect', e.errno, e.message, what);
    }
    if (reply.type !== T_OK)
      throw protocolError('connect', `frame type 0x${reply.type.toString(16)} instead of OK`);
    expectEmpty('connect', reply.payload, 'OK');
    return ch.release();
  } catch (e) {
    ch.destroy();
    throw e;
  } finally {
    disarm();
  }
}
