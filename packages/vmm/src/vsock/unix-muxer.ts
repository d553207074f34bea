// Firecracker's hybrid vsock on a Unix socket (firecracker docs/vsock.md, "Host-Initiated" and
// "Guest-Initiated Connections"), so tools written for Firecracker work unchanged:
// - a host program connects to the socket PATH and writes "CONNECT <port>\n"; the guest's
//   listener on <port> is connected, the program reads "OK <host port>\n", then bytes flow both
//   ways; a refused or failed connection closes the socket with nothing written;
// - a guest connecting to host CID 2, port P is connected to a listener on the Unix socket
//   "PATH_P": that socket is connected first and only then the guest's connection accepted, so
//   with none there (or one that refuses) the guest's connect() fails with RST and never sees a
//   RESPONSE (Firecracker's muxer does the same).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { VsockRequest, VsockStream } from '@vmm/virtio/vsock';
import { VmmError, type LogSink } from '@vmm/hypervisor';
import { joinStreams } from '../net-relay/join';

/** The vsock device's host side, as the muxer uses it (VsockDevice). */
export interface VsockHost {
  connect(port: number): Promise<VsockStream>;
  listenAny(onRequest: (request: VsockRequest) => void): { close(): void };
}

/** The handshake line's longest form: "CONNECT 4294967295\n". */
const MAX_LINE = 32;
/** A client that connects and says nothing is dropped after this long. */
const HANDSHAKE_MS = 5_000;

/**
 * The socket's folder exists (Vmm.create asks before /dev/kvm is opened). libuv reports a bind(2)
 * in a folder that is not there as EACCES: this names the folder instead.
 */
export function checkVsockSocketFolder(socket: string): void {
  const folder = path.dirname(socket);
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
    throw new VmmError(
      'EVSOCKSOCKET',
      `vsock socket ${socket}: its folder ${folder} does not exist: create it, or pick a path in an existing folder`,
    );
  }
}

export class VsockUnixMuxer {
  // Half-open: a client may end its side (socat at the end of its input) and still read the answer.
  private readonly server = net.createServer({ allowHalfOpen: true }, (c) => this.accept(c));
  private readonly open = new Set<Duplex>();
  private guestSide: { close(): void } | undefined;
  private closed = false;

  constructor(
    private readonly host: VsockHost,
    readonly path: string,
    private readonly log?: LogSink,
  ) {}

  /** Listen on the socket (a stale socket file from an earlier run is replaced) and take the guest's connections. */
  async start(): Promise<void> {
    await removeStaleSocket(this.path);
    checkVsockSocketFolder(this.path);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new VmmError(
            'EVSOCKSOCKET',
            `vsock socket ${this.path}: cannot listen (${e.code ?? e.message}): check the folder exists and is writable, and that no other VM uses this path`,
          ),
        ),
      );
      this.server.listen(this.path, () => resolve());
    });
    fs.chmodSync(this.path, 0o600);
    this.guestSide = this.host.listenAny((request) => this.toHostListener(request));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.guestSide?.close();
    this.server.close();
    for (const s of this.open) s.destroy();
    this.open.clear();
    try {
      fs.unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  /** A host program connected to PATH: read its CONNECT line, then join it to the guest's port. */
  private accept(client: net.Socket): void {
    this.track(client);
    let line = '';
    const timer = setTimeout(() => client.destroy(), HANDSHAKE_MS);
    const onData = (chunk: Buffer): void => {
      const nl = chunk.indexOf(0x0a);
      line += chunk.toString('latin1', 0, nl < 0 ? chunk.length : nl);
      if (nl < 0) {
        if (line.length > MAX_LINE) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      clearTimeout(timer);
      const rest = chunk.subarray(nl + 1);
      const m = /^CONNECT (\d{1,10})$/.exec(line.trim());
      const port = m ? Number(m[1]) : NaN;
      if (!(port >= 0 && port <= 0xffffffff)) {
        this.log?.(
          'vsock-socket',
          `vsock socket ${this.path}: a client sent "${line.slice(0, 40)}", not CONNECT <port>`,
        );
        client.destroy();
        return;
      }
      this.host.connect(port).then(
        (guest) => {
          if (client.destroyed) return guest.destroy();
          client.write(`OK ${guest.hostPort}\n`);
          if (rest.length > 0) guest.write(rest);
          joinStreams(client, guest);
        },
        () => client.destroy(),
      );
    };
    client.on('data', onData);
  }

  /**
   * The guest asks for host port P: connect to the listener on PATH_P, then accept the guest's
   * connection and join the two; no listener there (or an error before it answers): refuse.
   */
  private toHostListener(request: VsockRequest): void {
    if (this.closed) return request.refuse();
    const target = net.connect({ path: `${this.path}_${request.hostPort}`, allowHalfOpen: true });
    this.track(target);
    target.once('connect', () => {
      const guest = request.accept();
      if (!guest) return void target.destroy(); // the guest gave up meanwhile
      this.track(guest);
      joinStreams(target, guest);
    });
    target.on('error', () => target.destroy());
    // Closed before it connected (refused, missing, the muxer closing): the guest gets RST.
    // Once accepted, refuse() does nothing.
    target.once('close', () => request.refuse());
  }

  private track(s: Duplex): void {
    this.open.add(s);
    s.once('close', () => this.open.delete(s));
  }
}

/**
 * A socket file left by a process that is gone (connecting is refused) is removed; a live socket
 * or anything else at the path is an error.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new VmmError(
      'EVSOCKSOCKET',
      `vsock socket ${path}: the path exists and is not a socket: pick another path`,
    );
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new VmmError(
      'EVSOCKSOCKET',
      `vsock socket ${path}: another process listens there (another VM?): pick another path`,
    );
  }
  fs.unlinkSync(path);
}
