// Tests only: virtio-rng, built in its device thread by a module that takes SLOW_LOAD_MS to load,
// as a worker does on a loaded machine, or from the TypeScript sources under emulation (7.5-10 s
// in the nested-KVM VM).
import { RngDevice, type RngDeviceOptions } from '@vmm/virtio';

export const SLOW_LOAD_MS = 3000;

Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SLOW_LOAD_MS);

export function createSlowRngDevice(options: RngDeviceOptions): RngDevice {
  return new RngDevice(options);
}
