// Tests only: virtio-rng whose every queueNotify holds its device thread for STALL_MS, as a read
// from a stalled file system holds a disk's.
import { RngDevice, type RngDeviceOptions } from '@vmm/virtio';

export const STALL_MS = 3000;

export function createStallingRngDevice(options: RngDeviceOptions): RngDevice {
  const device = new RngDevice(options);
  const serve = device.queueNotify.bind(device);
  device.queueNotify = () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, STALL_MS);
    serve();
  };
  return device;
}
