// A running VM as the library hands it out (Vmm.builder().start(), Vm.start(config)): its state,
// typed events, the console, its counters, and an end that releases everything (stop(),
// shutdown(), dispose(), `await using`). Vmm stays the machine; this is the handle around its run.
import { EventEmitter } from 'node:events';
import { VmmError } from '@vmm/hypervisor';
import { VsockError } from '@vmm/virtio';
import type { VsockDevice } from '@vmm/virtio/vsock';
import type { AgentClient } from '../agent/client';
import type { CopyInOptions } from '../agent/copy-in';
import type { CopyOutOptions } from '../agent/copy-out';
import type { ExecOptions, ExecResult } from '../agent/exec';
import type { SerialConfig, VmConfig } from '../config';
import {
  Vmm,
  type RunResult,
  type VmmCounters,
  type VmmOptions,
  type VmmRestoreOptions,
} from '../machine/vmm';
import type { EarlyRunReport } from '../vcpu/early-run';
import { ConsoleCapture } from './console-capture';
import { snapshotDirOf } from './snapshot-dir';
import { timerMs } from './timer-ms';
import type { Forward, ForwardOptions } from './forward';
import type { Socks5Options, Socks5Server } from './socks5';

/**
 * starting → running ⇄ paused → stopping → stopped. `paused`: every vCPU is parked outside KVM_RUN
 * and the device threads take no requests (pause(), resume(); a restored VM starts paused).
 */
export type VmState = 'starting' | 'running' | 'paused' | 'stopping' | 'stopped';

/** How a VM ended. */
export interface VmExit {
  /** poweroff, reset (with noReboot), stopped (stop(), shutdown() forced, dispose()), or error. */
  outcome: RunResult['outcome'] | 'error';
  /** What `vmm run` would exit with. */
  exitCode: number;
  reboots: number;
  /** outcome 'error': what happened (a triple fault, a KVM internal error, ...). */
  error?: Error;
}

export interface VmEvents {
  state: [VmState];
  exit: [VmExit];
  /** A line of the captured console (without its newline). */
  'console-line': [string];
  /** A one-line notice from the monitor (see VmmOptions.log). */
  log: [string];
}

export interface VmStartOptions extends Pick<VmmOptions, 'hypervisor' | 'probe' | 'earlyRun'> {
  /** Give up on the start after this long (default 60 s): the VM is stopped and start() rejects. */
  timeoutMs?: number;
  /** How long exec(), copyIn() and copyOut() wait for the guest agent to listen (default 60 s). */
  agentTimeoutMs?: number;
  /**
   * Every notice of the monitor, from the first: also those of the start or restore itself (host
   * quirks applied, a file descriptor limit), which come before start() returns the Vm whose
   * 'log' event carries the later ones.
   */
  log?: (line: string) => void;
}

export interface VmRestoreOptions extends VmStartOptions {
  /** Where COM1 goes: default captured (vm.console); 'as-saved' keeps the snapshot's configuration. */
  serial?: SerialConfig | 'as-saved';
  /**
   * Copy the guest pages the snapshot stores into this process during restore() (Cloud
   * Hypervisor's `prefault`), so the guest takes no page fault on them once it runs. Default
   * false: each page is read from the snapshot when the guest first touches it.
   */
  prefault?: boolean;
  /** Come back running instead of paused (Cloud Hypervisor's restore `resume`; default false). */
  resume?: boolean;
  /** Instead of the snapshot's: the threads' seccomp, noReboot, hostQuirks (VmmRestoreOptions.settings). */
  settings?: VmmRestoreOptions['settings'];
}

export interface ShutdownOptions {
  /** How long the guest has to power off once asked, before it is stopped (default 10 s). */
  graceMs?: number;
}

export class Vm extends EventEmitter<VmEvents> implements AsyncDisposable {
  /** The captured console (the serial port, or the virtio console when that is captured). */
  readonly console: ConsoleCapture;
  /** Settles when the VM has ended and released its threads, fds and files. */
  readonly exited: Promise<VmExit>;
  private current: VmState = 'starting';
  private vmm: Vmm | undefined;
  private agentClient: AgentClient | undefined;
  private agentTimeoutMs = 60_000;

  private constructor() {
    super();
    this.console = new ConsoleCapture((line) => this.emit('console-line', line));
    let settle: (e: VmExit) => void = () => {};
    this.exited = new Promise((resolve) => (settle = resolve));
    this.settle = settle;
  }

  private readonly settle: (e: VmExit) => void;

  /** Boot `config`; resolves once the guest's vCPUs run. */
  static async start(config: VmConfig, options: VmStartOptions = {}): Promise<Vm> {
    const vm = new Vm();
    await vm.boot((o) => Vmm.create(config, o), options);
    return vm;
  }

  /**
   * Bring back the VM a snapshot in `dir` holds (vm.snapshot(), or the API's vm.snapshot), in this
   * process or another: checked whole first (a corrupt, truncated or mismatched snapshot rejects
   * with a SnapshotError and nothing starts), guest RAM mapped copy-on-write from the snapshot.
   * It comes back paused, as it was saved: resume() runs it. The console is captured here.
   */
  static async restore(dir: string, options: VmRestoreOptions = {}): Promise<Vm> {
    dir = snapshotDirOf('Vm.restore', dir);
    const vm = new Vm();
    // The restore's own options go to Vmm.restore as it takes them, not through boot()'s spread
    // of the rest ('as-saved' reached the VM's config as its serial, refused as ECONFIG).
    const {
      serial = { mode: 'capture' },
      prefault = false,
      resume = false,
      settings,
      ...startOptions
    } = options;
    const own = { prefault, resume, settings };
    await vm.boot(
      (o) => Vmm.restore(dir, serial === 'as-saved' ? { ...o, ...own } : { ...o, ...own, serial }),
      startOptions,
    );
    return vm;
  }

  /** The VM's configuration (for a restored VM, the snapshot's); undefined before it started. */
  get config(): VmConfig | undefined {
    return this.vmm?.config;
  }

  /**
   * Write the paused VM to `dir` (created; refused if it already holds a snapshot): guest RAM, the
   * state of every vCPU and of the machine, with checksums. The VM stays paused.
   */
  async snapshot(dir: string): Promise<void> {
    this.expectState('snapshot', 'paused');
    await this.machine().snapshot(snapshotDirOf('vm.snapshot', dir));
  }

  get state(): VmState {
    return this.current;
  }

  /** What the main thread ran of the vCPUs before their own threads were ready (VmStartOptions.earlyRun). */
  get earlyRuns(): EarlyRunReport[] {
    return this.vmm?.earlyRuns ?? [];
  }

  /** Each device's counters (requests, bytes, drops, refusals), and KVM's own of the VM and each vCPU. */
  counters(): VmmCounters {
    return this.vmm?.counters() ?? { devices: [] };
  }

  /** The VM's vsock: connect to a guest port, listen on a host port (VsockError when it has none). */
  get vsock(): Pick<VsockDevice, 'connect' | 'listen'> {
    const v = this.vmm?.vsock;
    if (!v)
      throw new VsockError(
        'EVSOCKNONE',
        'this VM has no vsock device: add .vsock({ cid: 3 }) to its builder',
      );
    return v;
  }

  /** Run a command in the guest through the agent (argv, env, cwd, stdin, timeout): its code or signal and output. */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    return this.agent().exec(argv, options);
  }

  /** Copy a host file into the guest (streamed; any size). */
  copyIn(hostPath: string, guestPath: string, options?: CopyInOptions): Promise<void> {
    return this.agent().copyIn(hostPath, guestPath, options);
  }

  /** Copy a guest file to the host (streamed; any size unless options.maxBytes says otherwise). */
  copyOut(guestPath: string, hostPath: string, options?: CopyOutOptions): Promise<void> {
    return this.agent().copyOut(guestPath, hostPath, options);
  }

  /**
   * A SOCKS5 proxy on the host (RFC 1928 CONNECT; no-auth or `auth` username/password) whose
   * connections the agent opens from inside the guest: traffic leaves through the guest's network,
   * names resolve there. Closed with the VM.
   */
  async socks5(options: Socks5Options = {}): Promise<Socks5Server> {
    const agent = this.agent();
    const { startSocks5 } = await import('./socks5');
    const proxy = await startSocks5(
      (host, port, timeoutMs) => agent.connect(host, port, { timeoutMs }),
      options,
    );
    this.servers.add(proxy);
    return proxy;
  }

  /** A host TCP port carried to `guestPort` inside the guest (through the agent). Closed with the VM. */
  async forward(options: ForwardOptions): Promise<Forward> {
    const agent = this.agent();
    const { startForward } = await import('./forward');
    const fwd = await startForward(
      (host, port, timeoutMs) => agent.connect(host, port, { timeoutMs }),
      options,
    );
    this.servers.add(fwd);
    return fwd;
  }

  private readonly servers = new Set<{ close(): Promise<void> }>();

  /** The agent's client: each operation opens its own vsock stream, waiting for the agent to listen. */
  private agent(): AgentClient {
    this.agentClient ??= this.machine().agentClient(this.agentTimeoutMs, () => this.console.progress());
    return this.agentClient;
  }

  /** The machine: set by start() before the handle is handed out. */
  private machine(): Vmm {
    if (!this.vmm) throw new VmmError('EVMNOTSTARTED', 'the VM has not been started');
    return this.vmm;
  }

  /**
   * Park every vCPU outside KVM_RUN and stop the device threads taking requests; resolves when all
   * are parked (state 'paused'). VmmError EVMSTATE unless the VM is running.
   */
  async pause(): Promise<void> {
    this.expectState('pause', 'running');
    if (!(await this.machine().pause())) {
      // The machine refuses alike when its boot ended for good and in a reboot's gap (the old
      // boot's vCPUs gone, the next boot's not yet there); a VM still running is in the gap unless
      // it is ending right now, which only its exit can tell.
      throw new VmmError(
        'EVMSTATE',
        this.current === 'running'
          ? 'cannot pause the VM: it is between two boots (a reboot) or ending: pause it again once it runs'
          : 'cannot pause the VM: it ended while it was being paused',
      );
    }
    this.setState('paused');
  }

  /** Let a paused VM run again (state 'running'). VmmError EVMSTATE unless the VM is paused. */
  async resume(): Promise<void> {
    this.expectState('resume', 'paused');
    this.machine().resume();
    this.setState('running');
  }

  /** Reset the machine: the guest boots again from the kernel (a running or paused VM). */
  async reboot(): Promise<void> {
    this.expectState('reboot', 'running', 'paused');
    this.machine().reboot();
    this.setState('running');
  }

  /** Press the ACPI power button (the guest decides what to do; Linux's button driver powers off). */
  async powerButton(): Promise<void> {
    this.expectState('press the power button of', 'running');
    if (!this.machine().powerButton()) {
      throw new VmmError('EVMSTATE', 'cannot press the power button: the VM is between two boots');
    }
  }

  private expectState(what: string, ...allowed: VmState[]): void {
    if (!allowed.includes(this.current)) {
      throw new VmmError(
        'EVMSTATE',
        `cannot ${what} the VM: it is ${this.current} (it must be ${allowed.join(' or ')})`,
      );
    }
  }

  /** Stop the VM now (its vCPUs leave KVM_RUN; nothing of the guest's is flushed). */
  async stop(): Promise<VmExit> {
    if (this.current !== 'stopped') this.setState('stopping');
    await this.vmm?.stop();
    return this.exited;
  }

  /**
   * Ask the guest to power off and wait `graceMs` for it; then stop it. The guest is asked through
   * the agent when it has one (it syncs the disks and powers off, whatever the guest's init), else
   * with the ACPI power button (a guest with a handler for it powers off: Linux with acpid or
   * systemd-logind). A paused VM cannot answer: it is stopped at once.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<VmExit> {
    const grace = timerMs('vm.shutdown: graceMs', options.graceMs ?? 10_000);
    if (this.current === 'stopped') return this.exited;
    if (this.current === 'paused' || this.current === 'starting') return this.stop();
    const viaAgent = this.vmm?.config.vsock?.agent === true;
    this.setState('stopping');

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), grace)));
    // A guest that cannot be asked is stopped after the grace period.
    if (viaAgent) void this.exec(['sh', '-c', 'sync; poweroff -f']).catch(() => {});
    else this.vmm?.powerButton();
    const first = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (first === 'timeout') return this.stop();
    return first;
  }

  /** Stop the VM if it runs and wait until everything it held is released (proxies and forwards too). */
  async dispose(): Promise<void> {
    await this.stop();
    await Promise.all([...this.servers].map((s) => s.close()));
    this.servers.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private setState(s: VmState): void {
    if (this.current === s || this.current === 'stopped') return;
    this.current = s;
    this.emit('state', s);
  }

  private async boot(create: (options: VmmOptions) => Promise<Vmm>, options: VmStartOptions): Promise<void> {
    const timeoutMs = timerMs('start: timeoutMs', options.timeoutMs ?? 60_000);
    this.agentTimeoutMs = timerMs('start: agentTimeoutMs', options.agentTimeoutMs ?? this.agentTimeoutMs);
    let running: () => void = () => {};
    const started = new Promise<void>((r) => (running = r));
    const vmm = await create({
      ...options,
      input: this.console.input,
      output: (_source, chunk) => this.console.push(chunk),
      log: (line) => {
        options.log?.(line);
        this.emit('log', line);
      },
      onRunning: () => {
        // A restored VM's vCPUs are parked from the start: it comes back paused.
        if (this.current === 'starting') this.setState(vmm.isPaused ? 'paused' : 'running');
        running();
      },
    });
    this.vmm = vmm;
    const ending = vmm.run().then(
      (r): VmExit => ({ outcome: r.outcome, exitCode: r.exitCode, reboots: r.reboots }),
      (e: unknown): VmExit => ({ outcome: 'error', exitCode: 1, reboots: 0, error: e as Error }),
    );
    void ending.then((exit) => {
      this.setState('stopped');
      this.console.end(
        exit.error ??
          new VmmError('EVMEXITED', `the VM ended (${exit.outcome}) before the console showed that`),
      );
      this.emit('exit', exit);
      this.settle(exit);
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      started.then(() => 'running' as const),
      ending,
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome === 'running') return;
    if (outcome === 'timeout') {
      await this.stop();
      throw new VmmError('ESTARTTIMEOUT', `the VM did not start within ${timeoutMs} ms: see vmm doctor`);
    }
    throw outcome.error ?? new VmmError('EVMEXITED', `the VM ended (${outcome.outcome}) as it started`);
  }
}
