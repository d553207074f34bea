// A TCP listener on "HOST:PORT" for a host-side service of the VM (SOCKS5, a port forward): it
// keeps every stream it hands out, so close() ends them all and frees the port at once.
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { VmmError } from '@vmm/hypervisor';
import { nodeNet } from '../io/node-net';

export interface TcpService {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** [host, port] of "HOST:PORT" or "[IPv6]:PORT"; undefined when it is neither. */
export function splitHostPort(text: string): [string, number] | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) > 65535) return undefined;
  return [m[1] ?? m[2]!, Number(m[3])];
}

/**
 * Listen on `listen` (half-open connections allowed); `serve` gets each client and `track`, which
 * adds a stream (the guest side, say) to those close() ends.
 */
export async function listenTcp(
  what: string,
  listen: string,
  serve: (client: net.Socket, track: (s: Duplex) => void) => void,
): Promise<TcpService> {
  const where = splitHostPort(listen);
  if (!where) throw new VmmError('ELISTEN', `${what}: '${listen}' is not HOST:PORT (e.g. 127.0.0.1:1080)`);
  const open = new Set<Duplex>();
  const track = (s: Duplex): void => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  const server = nodeNet().createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    client.on('error', () => client.destroy());
    serve(client, track);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new VmmError(
          'ELISTEN',
          `${what}: cannot listen on ${listen} (${e.code ?? e.message}): pick a free port`,
        ),
      ),
    );
    server.listen(where[1], where[0], () => resolve());
  });
  const addr = server.address() as net.AddressInfo;
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
