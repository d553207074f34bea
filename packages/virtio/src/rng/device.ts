// virtio-rng (entropy device): virtio 1.2 §5.4. One request queue; every writable buffer the
// guest posts is filled from the host's CSPRNG (crypto.randomFillSync) in place.
import { randomFillSync } from 'node:crypto';
import type { DeviceContext, VirtioDevice } from '../device';
import { TRANSPORT_FEATURES } from '../features';
import { DescriptorChain } from '../queue/chain';
import { DEVICE_ID_ENTROPY } from '../status';

export interface RngDeviceOptions {
  /** QueueNumMax of the request queue (default 64). */
  queueSize?: number;
}

export class RngDevice implements VirtioDevice {
  readonly deviceId = DEVICE_ID_ENTROPY;
  readonly features = TRANSPORT_FEATURES;
  readonly queueMaxSizes: readonly number[];
  /** §5.4.4: no configuration space. */
  readonly configSize = 0;

  private ctx: DeviceContext | undefined;
  private chain: DescriptorChain | undefined;
  private readonly iov: Uint8Array[] = [];

  constructor(options: RngDeviceOptions = {}) {
    this.queueMaxSizes = [options.queueSize ?? 64];
  }

  readConfig(_offset: number, data: Uint8Array): void {
    data.fill(0);
  }

  writeConfig(): void {}

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.chain ??= new DescriptorChain(this.queueMaxSizes[0]!, ctx.views);
    this.queueNotify();
  }

  queueNotify(): void {
    const ctx = this.ctx;
    const chain = this.chain;
    if (!ctx || !chain) return;
    const q = ctx.queues[0]!;
    do {
      for (;;) {
        const r = q.pop(chain);
        if (r === 'broken') return ctx.needsReset();
        if (r === 'empty') break;
        this.iov.length = 0;
        chain.writableViews(0, chain.writableBytes, this.iov);
        for (const v of this.iov) randomFillSync(v);
        this.iov.length = 0;
        q.pushUsed(chain.head, chain.writableBytes);
      }
      ctx.signalUsed(0);
    } while (q.enableNotification());
  }

  reset(): void {
    this.ctx = undefined;
  }
}
