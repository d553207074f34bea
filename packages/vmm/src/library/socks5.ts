// A SOCKS5 server on the host (RFC 1928, with RFC 1929 username/password) whose CONNECTs are made
// from inside the guest by its agent: traffic leaves through the guest's network (a VPN there,
// say), names are resolved in the guest. Only CONNECT; BIND and UDP ASSOCIATE are refused with
// "command not supported", as many proxies do. A request cut short (the client ended its side
// before the whole address and port came) is answered "general failure", and the proxy goes on.
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { joinStreams } from '../net-relay/join';
import { listenTcp, type TcpService } from '../net-relay/tcp-listener';
import { timerMs } from './timer-ms';
import { nodeNet } from '../io/node-net';

/** Opens a TCP connection from inside the guest within `timeoutMs` (AgentClient.connect). */
export type GuestConnect = (host: string, port: number, timeoutMs: number) => Promise<Duplex>;

/** How long a connection from inside the guest may take to open, by default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

export interface Socks5Options {
  /** "HOST:PORT" to listen on (default 127.0.0.1:0: a free port on loopback). */
  listen?: string;
  /** Require RFC 1929 username/password authentication with these credentials. */
  auth?: { username: string; password: string };
  /** Told why a CONNECT failed (the client gets only the RFC 1928 reply code). */
  onConnectError?: (target: string, error: Error) => void;
  /** How long the guest may take to open a CONNECT's connection (default 30 000 ms); past it the
      client gets "TTL expired" (RFC 1928 §6 X'06'), also when the guest does not answer at all. */
  connectTimeoutMs?: number;
}

export type Socks5Server = TcpService;

// RFC 1928 §3-§6 and RFC 1929 §2: the bytes of the handshake.
const VERSION = 5;
const METHOD_NONE = 0x00;
const METHOD_USERPASS = 0x02;
const METHOD_UNACCEPTABLE = 0xff;
const AUTH_VERSION = 1;
const CMD_CONNECT = 1;
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;
const REP_SUCCEEDED = 0;
const REP_GENERAL_FAILURE = 1;
const REP_NETWORK_UNREACHABLE = 3;
const REP_HOST_UNREACHABLE = 4;
const REP_CONNECTION_REFUSED = 5;
const REP_TTL_EXPIRED = 6;
const REP_COMMAND_NOT_SUPPORTED = 7;
const REP_ADDRESS_NOT_SUPPORTED = 8;
/** A client that has not finished its handshake by then is dropped. */
const HANDSHAKE_MS = 30_000;

export async function startSocks5(connect: GuestConnect, options: Socks5Options = {}): Promise<Socks5Server> {
  const timeoutMs = timerMs(
    'socks5: connectTimeoutMs',
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  );
  const connectInTime = (host: string, port: number) => connect(host, port, timeoutMs);
  return listenTcp(
    'SOCKS5',
    options.listen ?? '127.0.0.1:0',
    (client, track) => void serve(client, connectInTime, options, track),
  );
}

/** Reads exactly what the handshake asks for, as it arrives. */
class Reader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };

  constructor(private readonly s: net.Socket) {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    // The client's end of stream (the listener is half-open: 'close' would not come) or a close.
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
  }

  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error('the client went away');
      await new Promise<void>((r) => (this.wake = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Whatever came after the handshake: stop reading here and hand it back. */
  rest(): Buffer {
    this.s.removeAllListeners('data');
    this.s.off('end', this.onEnd);
    this.s.pause();
    return this.buf;
  }
}

async function serve(
  client: net.Socket,
  /** GuestConnect with the proxy's connectTimeoutMs. */
  connect: (host: string, port: number) => Promise<Duplex>,
  options: Socks5Options,
  track: (s: Duplex) => void,
): Promise<void> {
  const auth = options.auth;
  const timer = setTimeout(() => client.destroy(), HANDSHAKE_MS);
  const r = new Reader(client);
  /** A method was agreed: from here a broken request gets a reply (§6) rather than a bare close. */
  let negotiated = false;
  try {
    // §3: version, methods.
    const [ver, nMethods] = await r.take(2);
    if (ver !== VERSION) return void client.destroy();
    const methods = await r.take(nMethods!);
    const want = auth ? METHOD_USERPASS : METHOD_NONE;
    if (!methods.includes(want)) {
      client.end(Buffer.of(VERSION, METHOD_UNACCEPTABLE));
      return;
    }
    client.write(Buffer.of(VERSION, want));
    if (auth) {
      // RFC 1929 §2: ver, ulen, uname, plen, passwd; status 0 is success.
      const [aver, ulen] = await r.take(2);
      const user = (await r.take(ulen!)).toString('utf8');
      const [plen] = await r.take(1);
      const pass = (await r.take(plen!)).toString('utf8');
      const ok = aver === AUTH_VERSION && user === auth.username && pass === auth.password;
      if (!ok) {
        client.end(Buffer.of(AUTH_VERSION, 1));
        return;
      }
      client.write(Buffer.of(AUTH_VERSION, 0));
    }
    negotiated = true;
    // §4: ver, cmd, rsv, atyp, dst.addr, dst.port.
    const [rver, cmd, , atyp] = await r.take(4);
    if (rver !== VERSION) return void client.destroy();
    let host: string;
    if (atyp === ATYP_IPV4) host = [...(await r.take(4))].join('.');
    else if (atyp === ATYP_DOMAIN) host = (await r.take((await r.take(1))[0]!)).toString('latin1');
    else if (atyp === ATYP_IPV6) host = ipv6(await r.take(16));
    else return reply(client, REP_ADDRESS_NOT_SUPPORTED);
    const port = (await r.take(2)).readUInt16BE(0);
    if (cmd !== CMD_CONNECT) return reply(client, REP_COMMAND_NOT_SUPPORTED);
    let guest: Duplex;
    clearTimeout(timer); // the handshake is done: the connect has a time of its own
    try {
      guest = await connect(host, port);
    } catch (e) {
      options.onConnectError?.(`${host}:${port}`, e as Error);
      return reply(client, replyFor((e as { code?: string }).code));
    }
    if (client.destroyed) return void guest.destroy();
    track(guest);
    // The bound address is the guest's and means nothing to the client: 0.0.0.0:0, as many proxies say.
    client.write(Buffer.of(VERSION, REP_SUCCEEDED, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0));
    const early = r.rest();
    if (early.length > 0) guest.write(early);
    joinStreams(client, guest);
  } catch {
    // The client went away mid-request (a short address, say): tell it, if it still listens.
    if (negotiated && client.writable) reply(client, REP_GENERAL_FAILURE);
    else client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

function reply(client: net.Socket, rep: number): void {
  client.end(Buffer.of(VERSION, rep, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0));
}

/** The agent's errno names (AgentError.code) as RFC 1928 §6 replies. */
function replyFor(code: string | undefined): number {
  switch (code) {
    case 'ECONNREFUSED':
      return REP_CONNECTION_REFUSED;
    case 'ENETUNREACH':
      return REP_NETWORK_UNREACHABLE;
    case 'EHOSTUNREACH':
    case 'ENOENT': // the name did not resolve in the guest
    case 'EAGAIN':
      return REP_HOST_UNREACHABLE;
    case 'ETIMEDOUT':
    case 'AGENT_TIMEOUT': // the guest did not answer in time at all
      return REP_TTL_EXPIRED;
    default:
      return REP_GENERAL_FAILURE;
  }
}

/** The 16 bytes of an IPv6 address in its usual text (RFC 5952: "::1", "fe80::1"). */
function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return new (nodeNet().SocketAddress)({ address: groups.join(':'), family: 'ipv6' }).address;
}
