// virtio-rng (entropy device): virtio 1.2 §5.4. One request queue; every writable buffer the
// guest posts is filled from the host's CSPRNG (crypto.randomFillSync) in place.
import type * as Crypto from 'node:crypto';
import { loadBuiltin } from '@vmm/hypervisor';
import type { DeviceContext, DeviceThreadSpec, VirtioDevice } from '../device';
import { TRANSPORT_FEATURES } from '../features';
import { DescriptorChain } from '../queue/chain';
import { DEVICE_ID_ENTROPY } from '../status';

export interface RngDeviceOptions {
  /** QueueNumMax of the request queue (default 64). */
  queueSize?: number;
}

/** Random bytes made per queueNotify call at most (then the rest is requeued). */
const MAX_BATCH_BYTES = 1024 * 1024;
/** Random bytes put in one buffer at most (Linux asks for at most a page or so at a time). */
const MAX_CHAIN_BYTES = 64 * 1024;

/** An entropy device built from RngDevice.threadSpec() in its thread. */
export function createRngDevice(options: RngDeviceOptions): RngDevice {
  return new RngDevice(options);
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
  /** Bytes of entropy handed to the guest. */
  readonly stats = { bytes: 0 };

  /** node:crypto's, loaded with the device: a VM without an rng never loads node:crypto. */
  private readonly randomFillSync: typeof Crypto.randomFillSync;

  constructor(options: RngDeviceOptions = {}) {
    this.queueMaxSizes = [options.queueSize ?? 64];
    this.randomFillSync = loadBuiltin<typeof Crypto>('node:crypto').randomFillSync;
  }

  /** Served from its own thread: it needs nothing beyond getrandom (in every thread's list). */
  threadSpec(): DeviceThreadSpec {
    const options: RngDeviceOptions = { queueSize: this.queueMaxSizes[0] };
    return { module: '@vmm/virtio', exportName: 'createRngDevice', options, syscalls: [] };
  }

  readConfig(_offset: number, data: Uint8Array): void {
    data.fill(0);
  }

  writeConfig(): void {}

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.chain ??= new DescriptorChain(this.queueMaxSizes[0]!);
    this.queueNotify();
  }

  queueNotify(): void {
    const ctx = this.ctx;
    const chain = this.chain;
    if (!ctx || !chain) return;
    const q = ctx.queues[0]!;
    // Bounded: a queue's worth of buffers, or MAX_BATCH_BYTES, per call (a guest that keeps the
    // ring full gets the rest after a requeue, not the whole thread).
    let budget = q.size;
    let bytes = 0;
    do {
      for (;;) {
        if (budget-- <= 0 || bytes >= MAX_BATCH_BYTES) {
          ctx.signalUsed(0);
          if (q.hasAvailable()) ctx.requeue(0);
          return;
        }
        const r = q.pop(chain);
        if (r === 'broken') return ctx.needsReset();
        if (r === 'empty') break;
        // §5.4.6.2: the device may fill fewer bytes than the buffer holds; the used length says how many.
        const n = Math.min(chain.writableBytes, MAX_CHAIN_BYTES);
        this.iov.length = 0;
        chain.writableViews(0, n, this.iov);
        for (const v of this.iov) this.randomFillSync(v);
        this.iov.length = 0;
        bytes += n;
        this.stats.bytes += n;
        q.pushUsed(chain.head, n);
      }
      ctx.signalUsed(0);
    } while (q.enableNotification());
  }

  reset(): void {
    this.ctx = undefined;
    this.chain?.unbind();
  }
}
