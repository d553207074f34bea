// A parsed call to the controller, and what to answer when it succeeds: 200 with a JSON body for
// the reads (vmm.ping, vm.info, vm.counters), 204 with none for everything else (cloud-hypervisor.yaml).
import type { VmController } from './controller';
import type { ApiCall } from './request';

export interface ApiAnswer {
  status: 200 | 204;
  body?: unknown;
}

const NO_CONTENT: ApiAnswer = { status: 204 };

export async function dispatch(call: ApiCall, c: VmController): Promise<ApiAnswer> {
  switch (call.endpoint) {
    case 'vmm.ping':
      return { status: 200, body: c.ping() };
    case 'vm.info':
      return { status: 200, body: c.info() };
    case 'vm.counters':
      return { status: 200, body: c.counters() };
    case 'vmm.shutdown':
      await c.shutdownVmm();
      return NO_CONTENT;
    case 'vm.create':
      await c.create(call.config);
      return NO_CONTENT;
    case 'vm.boot':
      await c.boot();
      return NO_CONTENT;
    case 'vm.pause':
      await c.pause();
      return NO_CONTENT;
    case 'vm.resume':
      await c.resume();
      return NO_CONTENT;
    case 'vm.reboot':
      await c.reboot();
      return NO_CONTENT;
    case 'vm.shutdown':
      await c.shutdown();
      return NO_CONTENT;
    case 'vm.power-button':
      await c.powerButton();
      return NO_CONTENT;
    case 'vm.delete':
      await c.delete();
      return NO_CONTENT;
    case 'vm.snapshot':
      await c.snapshot(call.destinationDir);
      return NO_CONTENT;
    case 'vm.restore':
      await c.restore(call.restore);
      return NO_CONTENT;
  }
}
