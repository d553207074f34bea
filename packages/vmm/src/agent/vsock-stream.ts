// The agent's vsock port, opened while the guest may still be booting: the device's driver not up
// yet (EVSOCKDOWN) or the agent not listening yet (the guest resets the connection) is retried
// every 100 ms until `timeoutMs`; any other error is the caller's. A timeout says how far the
// guest got (a boot that stalled, or one that is only slow).
import type { Duplex } from 'node:stream';
import { VmmError } from '@vmm/hypervisor';
import type { VsockError } from '@vmm/virtio';
import type { VsockDevice } from '@vmm/virtio/vsock';
import { VSOCK_PORT } from './protocol';

export async function openAgentStream(
  vsock: Pick<VsockDevice, 'connect'>,
  timeoutMs: number,
  ended: () => boolean = () => false,
  /** How far the guest got (its last console line), for the timeout's message. */
  progress: () => string | undefined = () => undefined,
): Promise<Duplex> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ended()) throw new VmmError('EVMEXITED', 'the VM has ended: no agent to talk to');
    try {
      return await vsock.connect(VSOCK_PORT);
    } catch (e) {
      const code = (e as VsockError).code;
      const retry = code === 'ECONNREFUSED' || code === 'EVSOCKDOWN' || code === 'ETIMEDOUT';
      if (!retry) throw e;
      if (Date.now() >= deadline) {
        const got = progress();
        throw new VmmError(
          'EAGENTTIMEOUT',
          `the guest agent did not answer on vsock port ${VSOCK_PORT} within ${timeoutMs} ms ` +
            `(last: ${(e as Error).message}); ${got ? `${got}; ` : ''}` +
            `is the guest's kernel built with CONFIG_VIRTIO_VSOCKETS?`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
