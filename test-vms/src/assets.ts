// Every test-VM asset, built into the cache when missing: the test guests, the minimal kernel
// (vmlinux with the PVH note, and a bzImage of the same build) and the initramfs.
import { buildGuests } from './guests/build';
import { buildInitramfs } from './initramfs/build';
import { buildKernel } from './kernel/build';

export interface TestVmAssets {
  kernel?: string;
  bzImage?: string;
  initrd?: string;
  guests?: Record<string, string>;
}

export async function buildAssets(which: 'all' | 'guests' | 'kernel'): Promise<TestVmAssets> {
  const out: TestVmAssets = {};
  if (which === 'all' || which === 'guests') out.guests = await buildGuests();
  if (which === 'all' || which === 'kernel') {
    const k = await buildKernel();
    out.kernel = k.vmlinux;
    out.bzImage = k.bzImage;
    out.initrd = await buildInitramfs();
  }
  return out;
}
