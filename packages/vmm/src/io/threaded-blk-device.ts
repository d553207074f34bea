// A virtio-blk disk served in its own I/O thread (threaded-device.ts): the disk's options checked
// here (its busy-poll window), the image opened once on the main thread and shared with the thread.
import { VmmError, type LogSink } from '@vmm/hypervisor';
import { BlkDevice, type BlkDeviceOptions, type BlkDeviceStats } from '@vmm/virtio';
import { DEFAULT_DISK_POLL_US, MAX_DISK_POLL_US } from '../config';
import type { SeccompSetting } from '../vcpu/protocol';
import { ThreadedDevice } from './threaded-device';

export interface ThreadedBlkDeviceOptions extends BlkDeviceOptions {
  /** The most microseconds the I/O thread busy-polls the queue after a request before it sleeps
   * (adaptive: an idle disk never polls); 0: never. Default DEFAULT_DISK_POLL_US. */
  pollUs?: number;
  /** Where the disk says what went wrong (rate-limited by the receiver). */
  log?: LogSink;
  /** The I/O thread's seccomp filter (default 'off' for a device made on its own; a VM passes its setting). */
  seccomp?: SeccompSetting;
}

export class ThreadedBlkDevice extends ThreadedDevice<BlkDevice> {
  constructor(options: ThreadedBlkDeviceOptions) {
    const pollUs = options.pollUs ?? DEFAULT_DISK_POLL_US;
    if (!(Number.isInteger(pollUs) && pollUs >= 0 && pollUs <= MAX_DISK_POLL_US)) {
      throw new VmmError(
        'EDISKPOLL',
        `disk ${options.path}: poll ${pollUs} µs is not a whole number from 0 to ${MAX_DISK_POLL_US}: give one (0 turns polling off)`,
      );
    }
    const model = new BlkDevice(options);
    if (model.image.lock === 'none')
      options.log?.(
        'disk-lock',
        `disk ${model.image.path}: its file system takes no file locks, so nothing keeps another VM from writing it at the same time`,
      );
    try {
      super(model, { name: `disk ${model.image.path}`, pollUs, log: options.log, seccomp: options.seccomp });
    } catch (e) {
      model.close();
      throw e;
    }
  }

  override get stats(): BlkDeviceStats {
    return super.stats as BlkDeviceStats;
  }
}
