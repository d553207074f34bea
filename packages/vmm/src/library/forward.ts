// A host TCP port carried to a TCP port inside the guest: each connection to the host port is
// joined to one the guest agent opens there (to the guest's own 127.0.0.1), so a server in the
// guest is reached with no NAT port forward and nothing listening on the guest's network.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { VmmError } from '@vmm/hypervisor';
import type { GuestConnect } from './socks5';

export interface ForwardOptions {
  /** "HOST:PORT" to listen on (default 127.0.0.1:0: a free port on loopback). */
  listen?: string;
  /** The port in the guest. */
  guestPort: number;
  /** The address in the guest (default 127.0.0.1). */
  guestHost?: string;
}

export interface Forward {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startForward(connect: GuestConnect, options: ForwardOptions): Promise<Forward> {
  const { guestPort } = options;
  if (!Number.isInteger(guestPort) || guestPort < 1 || guestPort > 65535)
    throw new VmmError('EFORWARD', `forward: guestPort ${guestPort} is not a TCP port (1 to 65535)`);
  const guestHost = options.guestHost ?? '127.0.0.1';
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(options.listen ?? '127.0.0.1:0');
  if (!m || Number(m[3]) > 65535)
    throw new VmmError('EFORWARD', `forward: listen address '${options.listen}' is not HOST:PORT`);
  const open = new Set<Duplex>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    connect(guestHost, guestPort).then(
      (guest) => {
        if (client.destroyed) return void guest.destroy();
        open.add(guest);
        guest.once('close', () => open.delete(guest));
        client.pipe(guest);
        guest.pipe(client);
        client.resume();
        guest.once('error', () => client.destroy());
        guest.once('close', () => client.destroy());
        client.once('close', () => guest.destroy());
      },
      () => client.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new VmmError(
          'EFORWARD',
          `forward: cannot listen on ${options.listen} (${e.code ?? e.message}): pick a free port`,
        ),
      ),
    );
    server.listen(Number(m[3]), m[1] ?? m[2], () => resolve());
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
