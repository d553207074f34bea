// openAgentStream against a real vsock device whose guest driver never comes up: it retries until
// its deadline, then says what it last saw and how far the guest got.
import { VsockDevice } from '@vmm/virtio/vsock';
import { describe, expect, it } from 'vitest';
import { ConsoleCapture } from '../library/console-capture';
import { openAgentStream } from './vsock-stream';

describe('openAgentStream', () => {
  it('gives up at its deadline with the last error and the guest console’s last line and its age', async () => {
    const device = new VsockDevice({ guestCid: 3 });
    const console = new ConsoleCapture(() => {});
    console.push(new TextEncoder().encode('[6.55] Unpacking initramfs...\r\n'));
    const t0 = Date.now();
    const err = await openAgentStream(
      device,
      300,
      () => false,
      () => console.progress(),
    ).catch((e: Error) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(err).toMatchObject({ code: 'EAGENTTIMEOUT' });
    expect((err as Error).message).toMatch(
      /within 300 ms \(last: vsock: .*driver is not running yet.*\); the guest's console last printed 0\.\d s ago: "\[6\.55\] Unpacking initramfs\.\.\."; is the guest's kernel built/,
    );
  });

  it('says nothing of the console when the guest printed nothing, and stops at once when the VM ends', async () => {
    const device = new VsockDevice({ guestCid: 3 });
    const silent = new ConsoleCapture(() => {});
    const err = await openAgentStream(
      device,
      150,
      () => false,
      () => silent.progress(),
    ).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/\); is the guest's kernel built with CONFIG_VIRTIO_VSOCKETS\?$/);
    const ended = await openAgentStream(device, 60_000, () => true).catch((e: Error) => e);
    expect(ended).toMatchObject({ code: 'EVMEXITED' });
  });
});
