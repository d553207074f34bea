// Tests only: a worker that attaches a vCPU (attachKvmVcpu), says which thread runs it, then runs
// it and reports every exit: each io exit with its port and first data byte, and the first exit
// that is not io, which ends it.
import { parentPort, workerData } from 'node:worker_threads';
import { attachKvmVcpu, type KvmVcpuHandle } from '../../src/kvm/vcpu';
import { libc } from '../../src/sys/libc';

const { vcpu: handle } = workerData as { vcpu: KvmVcpuHandle };
const vcpu = attachKvmVcpu(handle);
parentPort!.postMessage({ tid: libc().gettid() });
for (;;) {
  const exit = vcpu.run();
  if (exit.kind === 'io') {
    parentPort!.postMessage({ kind: 'io', direction: exit.direction, port: exit.port, value: exit.data[0] });
    continue;
  }
  parentPort!.postMessage({ kind: exit.kind });
  break;
}
vcpu.close();
