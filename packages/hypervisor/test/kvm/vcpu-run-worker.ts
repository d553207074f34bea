// Tests only: a worker that attaches a vCPU (attachKvmVcpu) and guest memory, says 'ready', runs
// the vCPU until an exit that is not io, and reports that exit's kind plus the io ports it saw.
import { parentPort, workerData } from 'node:worker_threads';
import { attachGuestMemory } from '../../src/memory/memfd-guest-memory';
import type { GuestMemoryHandle } from '../../src/types';
import { attachKvmVcpu, type KvmVcpuHandle } from '../../src/kvm/vcpu';

const { vcpu: handle, memory } = workerData as { vcpu: KvmVcpuHandle; memory: GuestMemoryHandle };
const vcpu = attachKvmVcpu(handle);
const mem = attachGuestMemory(memory);
parentPort!.postMessage({ ready: true, firstByte: mem.readU8(0x1000) });
const ports: number[] = [];
for (;;) {
  const exit = vcpu.run();
  if (exit.kind === 'io') {
    ports.push(exit.port);
    continue;
  }
  parentPort!.postMessage({ kind: exit.kind, ports });
  break;
}
vcpu.close();
