// node:net, loaded when first used: a VM that never listens, reads a capture pipe or writes a
// FIFO does not pay for it (~2 ms) on its way to the guest's first instruction.
import type Net from 'node:net';
import { loadBuiltin } from '@vmm/hypervisor';

export function nodeNet(): typeof Net {
  return loadBuiltin<typeof Net>('node:net');
}
