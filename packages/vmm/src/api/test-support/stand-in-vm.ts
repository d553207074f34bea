// A stand-in for the library's Vm in the API's unit tests, where no VM can run: the same state
// rules as Vm (EVMSTATE outside them), an exit that settles `exited`, counters of one disk and of KVM (a VM, two vCPUs).
// `fail` makes the next call of an operation throw the given VmmError; `powerOff()` plays a
// guest that powers off by itself.
import { VmmError } from '@vmm/hypervisor';
import type { VmExit, VmState } from '../../library/vm';
import type { VmmCounters } from '../../machine/vmm';
import type { VmHandle } from '../controller';

type Operation = 'pause' | 'resume' | 'reboot' | 'powerButton' | 'snapshot';

export class StandInVm implements VmHandle {
  state: VmState = 'running';
  readonly exited: Promise<VmExit>;
  readonly calls: string[] = [];
  readonly fail = new Map<Operation, VmmError>();
  private settle: (e: VmExit) => void = () => {};
  /** How long pause/resume/reboot/powerButton take (a real VM parks its vCPUs meanwhile). */
  delayMs = 0;

  constructor() {
    this.exited = new Promise((r) => (this.settle = r));
  }

  async pause(): Promise<void> {
    this.operation('pause', ['running']);
    await this.delay();
    this.state = 'paused';
  }

  async resume(): Promise<void> {
    this.operation('resume', ['paused']);
    await this.delay();
    this.state = 'running';
  }

  async reboot(): Promise<void> {
    this.operation('reboot', ['running', 'paused']);
    await this.delay();
    this.state = 'running';
  }

  async powerButton(): Promise<void> {
    this.operation('powerButton', ['running']);
    await this.delay();
  }

  /** Snapshots "written": their directories. */
  readonly snapshots: string[] = [];

  async snapshot(dir: string): Promise<void> {
    this.operation('snapshot', ['paused']);
    this.snapshots.push(dir);
  }

  async shutdown(options?: { graceMs?: number }): Promise<VmExit> {
    this.calls.push(`shutdown ${options?.graceMs}`);
    return this.end('poweroff');
  }

  async stop(): Promise<VmExit> {
    this.calls.push('stop');
    return this.end('stopped');
  }

  /** The guest powers off by itself. */
  powerOff(): void {
    void this.end('poweroff');
  }

  counters(): VmmCounters {
    return {
      devices: [{ slot: 0, kind: 'virtio-blk', stats: { requests: 3, bytesRead: 4096 }, needsReset: 0 }],
      kvm: {
        vm: { pages_4k: 12 },
        vcpus: [
          { exits: 5, halt_exits: 1 },
          { exits: 7, halt_exits: 2 },
        ],
      },
    };
  }

  private delay(): Promise<void> {
    return this.delayMs > 0 ? new Promise((r) => setTimeout(r, this.delayMs)) : Promise.resolve();
  }

  private operation(name: Operation, allowed: VmState[]): void {
    this.calls.push(name);
    const f = this.fail.get(name);
    if (f) throw f;
    if (!allowed.includes(this.state))
      throw new VmmError('EVMSTATE', `cannot ${name}: the VM is ${this.state}`);
  }

  private end(outcome: VmExit['outcome']): Promise<VmExit> {
    if (this.state !== 'stopped') {
      this.state = 'stopped';
      this.settle({ outcome, exitCode: 0, reboots: 0 });
    }
    return this.exited;
  }
}
