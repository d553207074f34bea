// What the REST API drives: the created VmConfig and the VM booted from it, with Cloud
// Hypervisor's life cycle (vm.create stores a config; vm.boot starts it; vm.shutdown ends the VM
// and keeps the config, so vm.boot starts it again; vm.delete forgets both). Operations that change
// anything run one at a time, in arrival order; reads answer at once. Each throws an ApiError with
// the status to answer: 404 nothing created, 409 the VM is in the wrong state (or one exists),
// 501 not implemented yet, 500 the VM could not do it.
import { EventEmitter } from 'node:events';
import type { VmConfig } from '../config';
import { withAbsolutePaths } from '../config-paths';
import type { VmExit, VmState, ShutdownOptions } from '../library/vm';
import { Vm } from '../library/vm';
import type { VmmCounters } from '../machine/vmm';
import { vmConfigToCh, type ChVmConfig } from './ch-config';
import { countersToCh, type ChCounters } from './ch-counters';
import { ApiError, toApiError } from './errors';
import type { RestoreRequest } from './snapshot-config';
import { vmmVersion } from './version';

/** Cloud Hypervisor's VmState, as vm.info reports it. */
export type ChVmState = 'Created' | 'Running' | 'Shutdown' | 'Paused';

export interface VmmPing {
  build_version: string;
  version: string;
  pid: number;
  features: string[];
}

export interface VmInfo {
  config: ChVmConfig;
  state: ChVmState;
  memory_actual_size: number;
}

/** What the controller uses of a running VM: the library's Vm (a stand-in in unit tests). */
export interface VmHandle {
  readonly state: VmState;
  readonly exited: Promise<VmExit>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  reboot(): Promise<void>;
  powerButton(): Promise<void>;
  shutdown(options?: ShutdownOptions): Promise<VmExit>;
  stop(): Promise<VmExit>;
  counters(): VmmCounters;
  snapshot(dir: string): Promise<void>;
}

/** The operations behind the endpoints (server.ts calls them; each throws an ApiError to answer). */
export interface VmController {
  ping(): VmmPing;
  create(config: VmConfig): Promise<void>;
  boot(): Promise<void>;
  info(): VmInfo;
  counters(): ChCounters;
  pause(): Promise<void>;
  resume(): Promise<void>;
  reboot(): Promise<void>;
  shutdown(): Promise<void>;
  powerButton(): Promise<void>;
  delete(): Promise<void>;
  /** Write a snapshot of the paused VM into `destinationDir`. */
  snapshot(destinationDir: string): Promise<void>;
  /** Create the VM from the snapshot in `request.sourceDir`: paused, or running with `resume`. */
  restore(request: RestoreRequest): Promise<void>;
  /** Stop the VM if it runs; the server closes after answering (vmm.shutdown). */
  shutdownVmm(): Promise<void>;
}

export interface ApiControllerOptions {
  /** Boot a VM (default Vm.start): resolves once its vCPUs run. */
  start?: (config: VmConfig) => Promise<VmHandle>;
  /** How long vm.shutdown gives the guest to power off before the VM is stopped (default 10 s). */
  shutdownGraceMs?: number;
  /** Restore a snapshot (default Vm.restore, COM1 as the snapshot had it): resolves with the VM paused. */
  restore?: (dir: string, options: RestoreVmOptions) => Promise<{ vm: VmHandle; config: VmConfig }>;
}

/** What vm.restore asks of the restore besides the directory. */
export interface RestoreVmOptions {
  /** Copy the snapshot's stored guest pages in during the restore (Vm.restore's `prefault`). */
  prefault: boolean;
  /** Bring the VM back running (Vm.restore's `resume`): its vCPUs run as soon as they are restored. */
  resume: boolean;
}

export interface ApiControllerEvents {
  /**
   * The booted VM ended. `requested`: by the API (vm.shutdown, vm.delete, vmm.shutdown); otherwise
   * the guest powered off, or the VM failed (`vmm run --api-socket` then ends, as Cloud Hypervisor).
   */
  'vm-exit': [VmExit, { requested: boolean }];
  /** vmm.shutdown was called: the VM is stopped, the server closes. */
  'vmm-shutdown': [];
}

interface BootedVm {
  vm: VmHandle;
  /** Ended (or being ended) through the API. */
  requested: boolean;
}

export class ApiController extends EventEmitter<ApiControllerEvents> implements VmController {
  private config: VmConfig | undefined;
  private booted: BootedVm | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private ended = false;
  private readonly start: (config: VmConfig) => Promise<VmHandle>;
  private readonly graceMs: number;
  private readonly restoreVm: (
    dir: string,
    options: RestoreVmOptions,
  ) => Promise<{ vm: VmHandle; config: VmConfig }>;

  constructor(options: ApiControllerOptions = {}) {
    super();
    this.start = options.start ?? ((config) => Vm.start(config));
    this.restoreVm =
      options.restore ??
      (async (dir, { prefault, resume }) => {
        const vm = await Vm.restore(dir, { serial: 'as-saved', prefault, resume });
        return { vm, config: vm.config! };
      });
    this.graceMs = options.shutdownGraceMs ?? 10_000;
  }

  ping(): VmmPing {
    const version = vmmVersion();
    return { build_version: version, version, pid: process.pid, features: ['kvm'] };
  }

  info(): VmInfo {
    const config = this.created('vm.info');
    return { config: vmConfigToCh(config), state: this.state(), memory_actual_size: config.memory.size };
  }

  counters(): ChCounters {
    this.created('vm.counters');
    if (!this.booted)
      throw new ApiError(409, 'EVMSTATE', 'vm.counters: the VM has not been booted: vm.boot it first');
    return countersToCh(this.booted.vm.counters());
  }

  create(config: VmConfig): Promise<void> {
    return this.serially(async () => {
      if (this.config)
        throw new ApiError(409, 'EVMEXISTS', 'vm.create: a VM is already created: vm.delete it first');
      // Its paths are this process's from now on (vm.info shows what vm.boot will open).
      this.config = withAbsolutePaths(config);
      this.booted = undefined;
    });
  }

  boot(): Promise<void> {
    return this.serially(async () => {
      const config = this.created('vm.boot');
      if (this.booted && this.booted.vm.state !== 'stopped')
        throw new ApiError(
          409,
          'EVMSTATE',
          `vm.boot: the VM is already booted (${this.state()}): vm.shutdown it first`,
        );
      let vm: VmHandle;
      try {
        vm = await this.start(config);
      } catch (e) {
        throw toApiError(e, 'vm.boot: the VM did not boot');
      }
      const booted: BootedVm = { vm, requested: false };
      this.booted = booted;
      void vm.exited.then((exit) => this.emit('vm-exit', exit, { requested: booted.requested }));
    });
  }

  pause(): Promise<void> {
    return this.act('vm.pause', ['running'], (vm) => vm.pause());
  }

  resume(): Promise<void> {
    return this.act('vm.resume', ['paused'], (vm) => vm.resume());
  }

  reboot(): Promise<void> {
    return this.act('vm.reboot', ['running', 'paused'], (vm) => vm.reboot());
  }

  powerButton(): Promise<void> {
    return this.act('vm.power-button', ['running'], (vm) => vm.powerButton());
  }

  shutdown(): Promise<void> {
    return this.act('vm.shutdown', ['running', 'paused'], async (vm, booted) => {
      booted.requested = true;
      await vm.shutdown({ graceMs: this.graceMs });
    });
  }

  delete(): Promise<void> {
    return this.serially(async () => {
      await this.stopBooted();
      this.config = undefined;
      this.booted = undefined;
    });
  }

  snapshot(destinationDir: string): Promise<void> {
    return this.act('vm.snapshot', ['paused'], (vm) => vm.snapshot(destinationDir));
  }

  restore(request: RestoreRequest): Promise<void> {
    return this.serially(async () => {
      if (this.config)
        throw new ApiError(409, 'EVMEXISTS', 'vm.restore: a VM is already created: vm.delete it first');
      let restored: { vm: VmHandle; config: VmConfig };
      try {
        restored = await this.restoreVm(request.sourceDir, {
          prefault: request.prefault,
          resume: request.resume,
        });
      } catch (e) {
        throw toApiError(e, 'vm.restore: the snapshot was not restored');
      }
      const booted: BootedVm = { vm: restored.vm, requested: false };
      this.config = restored.config;
      this.booted = booted;
      void restored.vm.exited.then((exit) => this.emit('vm-exit', exit, { requested: booted.requested }));
      // A restore asked to resume has done so (its vCPUs ran as soon as they were restored); a
      // stand-in that came back paused all the same is resumed here.
      if (request.resume && restored.vm.state === 'paused') {
        try {
          await restored.vm.resume();
        } catch (e) {
          throw toApiError(e, 'vm.restore: the VM was restored but did not resume');
        }
      }
    });
  }

  shutdownVmm(): Promise<void> {
    if (this.ended) return this.queue.then(() => {});
    // Operations queued before this one run; those after find the VMM shutting down (503).
    const done = this.queue.then(() => this.stopBooted());
    this.ended = true;
    this.queue = done.catch(() => {});
    return done.finally(() => this.emit('vmm-shutdown'));
  }

  /** Cloud Hypervisor's name for the state of what is created. */
  private state(): ChVmState {
    const s = this.booted?.vm.state;
    if (s === undefined || s === 'starting') return 'Created';
    if (s === 'running') return 'Running';
    if (s === 'paused') return 'Paused';
    return 'Shutdown';
  }

  private created(what: string): VmConfig {
    if (!this.config)
      throw new ApiError(404, 'EVMNOTCREATED', `${what}: no VM is created: vm.create one first`);
    return this.config;
  }

  /** An operation on the booted VM, which must be in one of `allowed` states. */
  private act(
    what: string,
    allowed: readonly VmState[],
    f: (vm: VmHandle, booted: BootedVm) => Promise<void>,
  ): Promise<void> {
    return this.serially(async () => {
      this.created(what);
      const booted = this.booted;
      if (!booted || !allowed.includes(booted.vm.state)) {
        const must = allowed.map((s) => STATE_NAMES[s]).join(' or ');
        throw new ApiError(409, 'EVMSTATE', `${what}: the VM is ${this.state()}: it must be ${must}`);
      }
      try {
        await f(booted.vm, booted);
      } catch (e) {
        throw toApiError(e, what);
      }
    });
  }

  private async stopBooted(): Promise<void> {
    const booted = this.booted;
    if (!booted || booted.vm.state === 'stopped') return;
    booted.requested = true;
    await booted.vm.stop();
  }

  /** Run `f` after every operation before it has settled. */
  private serially<T>(f: () => Promise<T>): Promise<T> {
    const ended = this.ended;
    const run = this.queue.then(() => {
      if (ended) throw new ApiError(503, 'ESHUTDOWN', 'the VMM is shutting down (vmm.shutdown)');
      return f();
    });
    this.queue = run.catch(() => {});
    return run;
  }
}

const STATE_NAMES: Record<VmState, ChVmState> = {
  starting: 'Created',
  running: 'Running',
  paused: 'Paused',
  stopping: 'Shutdown',
  stopped: 'Shutdown',
};
