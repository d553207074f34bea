// A host TCP port carried to a TCP port inside the guest: each connection to the host port is
// joined to one the guest agent opens there (to the guest's own 127.0.0.1), so a server in the
// guest is reached with no NAT port forward and nothing listening on the guest's network.
import { VmmError } from '@vmm/hypervisor';
import { joinStreams } from '../net-relay/join';
import { listenTcp, type TcpService } from '../net-relay/tcp-listener';
import { DEFAULT_CONNECT_TIMEOUT_MS, type GuestConnect } from './socks5';
import { timerMs } from './timer-ms';

export interface ForwardOptions {
  /** "HOST:PORT" to listen on (default 127.0.0.1:0: a free port on loopback). */
  listen?: string;
  /** The port in the guest. */
  guestPort: number;
  /** The address in the guest (default 127.0.0.1). */
  guestHost?: string;
  /** How long the guest may take to open each connection (default 30 000 ms); past it, also when
      the guest does not answer at all, the host's connection is closed. */
  connectTimeoutMs?: number;
}

export type Forward = TcpService;

export async function startForward(connect: GuestConnect, options: ForwardOptions): Promise<Forward> {
  const { guestPort } = options;
  if (!Number.isInteger(guestPort) || guestPort < 1 || guestPort > 65535)
    throw new VmmError('EFORWARD', `forward: guestPort ${guestPort} is not a TCP port (1 to 65535)`);
  const guestHost = options.guestHost ?? '127.0.0.1';
  const timeoutMs = timerMs(
    'forward: connectTimeoutMs',
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  );
  return listenTcp('forward', options.listen ?? '127.0.0.1:0', (client, track) => {
    client.pause();
    connect(guestHost, guestPort, timeoutMs).then(
      (guest) => {
        if (client.destroyed) return void guest.destroy();
        track(guest);
        joinStreams(client, guest);
      },
      () => client.destroy(),
    );
  });
}
