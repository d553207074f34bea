// Vmm: builds the x86_64 machine from a VmConfig, runs one worker thread per vCPU, and ends with
// what the guest did: poweroff (exit 0), reset (reboot, or exit 0 with noReboot), or an error that
// names what happened (triple fault, KVM internal error with the instruction bytes, ...).
import fs from 'node:fs';
import {
  createHostPipe,
  VmmError,
  type EventNotifier,
  type Hypervisor,
  type LogSink,
  type ProbeResult,
  type Vcpu,
  type VirtualMachine,
} from '@vmm/hypervisor';
import { SnapshotError } from '../snapshot/errors';
import type { LoadedSnapshot, SnapshotSummary } from '../snapshot/store';
import { buildAcpiTables } from '../arch/x86_64/acpi/index';
import { GED_EVENT_POWER_BUTTON, GED_GSI } from '../arch/x86_64/acpi/registers';
import { bootMsrs, loadKernel, memoryLayout, vcpuCpuid, type BootPlan } from '../arch/x86_64/index';
import type { VmConfig } from '../config';
import { withAbsolutePaths } from '../config-paths';
import { configFault } from '../config-shape';
import { checkRamSize } from '../arch/x86_64/memory-map';
import { COM1_IRQ, Uart16550, createUartState, uartStateFault } from '../devices/uart/uart16550';
import type { SerialConfig } from '../config';
import type { StopReason } from '../vcpu/protocol';
import { VcpuThread } from '../vcpu/thread';
import type { EarlyRunReport } from '../vcpu/early-run';
import { EventfdPoller } from '../io/eventfd-poller';
import { warmThreads } from '../io/worker-pool';
import { MailboxServer, createMailbox } from '../vcpu/mmio-mailbox';
import { BootImages } from './boot-files';
import { openKvm, withHostQuirks } from './host-kvm';
import { openOutputFile, reopenNonBlocking } from './output-file';
import {
  VirtioMmioBus,
  createVirtioDevices,
  deviceCounters,
  type DeviceCounters,
  startVirtioDevices,
  virtioCmdline,
  virtioPlacement,
} from './virtio-devices';
import { DryRunMemory } from './dry-run-memory';
import { describeStop } from './stop-reasons';
import { rateLimitedLog } from '../log/rate-limited';
import { VmBuilder } from '../library/builder';
import type { VirtioDevice } from '@vmm/virtio';
import type { VsockDevice } from '@vmm/virtio/vsock';
import type { AgentClient } from '../agent/client';
import type { VsockUnixMuxer } from '../vsock/unix-muxer';
import type * as VsockSideModule from './vsock-side';
import { withKernelParams } from '../boot/cmdline';
import { nodeNet } from '../io/node-net';

/** What vsock-side.ts holds, once loaded. */
type VsockSide = typeof VsockSideModule;

export interface VmmOptions {
  /** Defaults to KVM. */
  hypervisor?: Hypervisor;
  /** Defaults to probing the host; given by tests. */
  probe?: ProbeResult;
  /**
   * One-line notices: host quirks applied, reboots, and what the guest made go wrong (a device
   * parked in DEVICE_NEEDS_RESET, a NAT flow refused by a cap, output dropped), each kind at most
   * once per 10 s (`vmm run` prints them to stderr).
   */
  log?: (line: string) => void;
  /** Where COM1 input comes from when serial is 'tty' (default process.stdin) or 'capture'. */
  input?: NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => unknown; isTTY?: boolean };
  /**
   * Where output in `capture` mode goes, as it comes: the serial port's, or the virtio console's.
   * All of it has been delivered when run() settles.
   */
  output?: (source: 'serial' | 'console', chunk: Buffer) => void;
  /** Called when a boot's vCPUs are about to run the guest (after each reboot too). */
  onRunning?: () => void;
  /**
   * Run the first vCPU's first exits on this (the main) thread while its own thread is still
   * loading, so the guest starts without waiting on a Node worker's bootstrap (`vmm run` does).
   * That thread is started at the first tick of this run, not before the guest's first
   * instruction. The event loop is blocked until the thread takes the vCPU (tens of ms; at most
   * 3 s): only for a process whose main thread has nothing else to do then. Default false.
   */
  earlyRun?: boolean;
}

/** How Vmm.restore brings a snapshot back. */
export interface VmmRestoreOptions {
  /** Replaces where the saved configuration's COM1 went (a new process has its own terminal). */
  serial?: SerialConfig;
  /**
   * Fault the guest pages the snapshot stores into this process at restore (Cloud Hypervisor's
   * `prefault`): the restore copies them up front, the guest then takes no host page fault on
   * them. Default false: each page is read from the snapshot when the guest first touches it.
   */
  prefault?: boolean;
  /**
   * Come back running: the vCPUs run as soon as their state is set (Cloud Hypervisor's restore
   * `resume`). Default false: paused, as it was saved, until resume().
   */
  resume?: boolean;
  /**
   * What this process says instead of the saved configuration (the CLI's --seccomp, --no-reboot,
   * --host-quirks given with --restore): its threads' seccomp filters, whether a guest reset ends
   * the run, the quirks of a reboot's command line.
   */
  settings?: Partial<Pick<VmConfig, 'seccomp' | 'noReboot' | 'hostQuirks'>>;
}

export interface RunResult {
  outcome: 'poweroff' | 'reset' | 'stopped';
  exitCode: number;
  reboots: number;
}

/** The guest ended in a way that is an error for the user (triple fault, internal error, ...). */
export class GuestError extends VmmError {}

/** What the library can read of a running (or ended) VM's devices. */
export interface VmmCounters {
  devices: DeviceCounters[];
  /**
   * KVM's own counters of the running boot, by KVM's names: the VM's (its MMU's pages, ...) and
   * each vCPU's (exits, halt_exits, pf_taken, pf_fixed, irq_injections, ...). Absent between boots
   * or where the host kernel keeps none (KVM_GET_STATS_FD, Linux 5.14).
   */
  kvm?: { vm: Record<string, number>; vcpus: Record<string, number>[] };
}

/** The current boot's Generic Event Device: its pending events (shared with the vCPU threads) and its interrupt. */
interface GedPlumbing {
  events: Int32Array;
  irq: EventNotifier;
}

export class Vmm {
  private threads: VcpuThread[] = [];
  private ged: GedPlumbing | undefined;
  /** This boot's vCPUs (their state is read here, on the main thread, while they are parked). */
  private vcpus: Vcpu[] = [];
  /** COM1's shared state (read into a snapshot). */
  private uartState: SharedArrayBuffer | undefined;
  /** A snapshot the next boot restores (set by Vmm.restore). */
  private restoring: LoadedSnapshot | undefined;
  /** Fault the snapshot's stored pages in at restore (VmmRestoreOptions.prefault). */
  private prefaultRestore = false;
  /** pause() parked the vCPUs and devices; a reboot keeps the machine paused until resume(). */
  private paused = false;
  /** reboot() asked for the current boot to end and a new one to start. */
  private rebootRequested = false;
  /** The command line with this host's quirks, made at the first boot (bootCmdline). */
  private quirkedCmdline: string | undefined;
  private vm: VirtualMachine | undefined;
  private bus: VirtioMmioBus | undefined;
  private stopping = false;
  private readonly cleanups: (() => void)[] = [];
  /** Run and awaited after the cleanups: output still in a pipe reaches VmmOptions.output before run() settles. */
  private readonly drains: (() => Promise<void>)[] = [];

  /** --serial file=PATH, opened with the other files (before /dev/kvm); run() takes it. */
  private serialFileFd: number | undefined;

  private constructor(
    readonly config: VmConfig,
    private readonly files: BootImages,
    private readonly devices: VirtioDevice[],
    private readonly hypervisor: Hypervisor,
    /** Without the host's quirks: the first boot adds them (bootCmdline). */
    private readonly cmdline: string,
    private readonly options: VmmOptions,
    private readonly log: LogSink,
    /** The virtio-vsock device's host side (connect, listen), when the VM has one. */
    readonly vsock?: VsockDevice,
    private readonly muxer?: VsockUnixMuxer,
    private readonly ownedHypervisor?: Hypervisor,
    /** The agent client and the muxer's code, loaded only for a VM with vsock. */
    private readonly vsockSide?: VsockSide,
  ) {}

  /**
   * Check the config and the files, then the host. Everything a user can get wrong is reported
   * before /dev/kvm is opened, each as a VmmError with a sentence saying what to do.
   */
  static async create(config: VmConfig, options: VmmOptions = {}): Promise<Vmm> {
    return Vmm.open(config, options, true);
  }

  /**
   * create(), and restore() with `checkBoot` false: a snapshot's VM does not load its kernel (its
   * RAM comes from the snapshot), so the trial load of kernel and initrd is not made; its files
   * are only opened, for a reboot. `paused`: the VM's first boot comes up paused (a restore
   * without resume).
   */
  private static async open(
    config: VmConfig,
    options: VmmOptions,
    checkBoot: boolean,
    paused = false,
  ): Promise<Vmm> {
    // A config from a library caller's own code has not been through a parser: a field of the
    // wrong type is named here, not met as a TypeError in a device.
    const fault = configFault(config);
    if (fault) {
      // A RAM size of the right type that the machine does not take: checkRamSize says why.
      if (fault.field === 'memory' && Number.isSafeInteger(config.memory?.size))
        checkRamSize(config.memory.size);
      throw new VmmError('ECONFIG', `the VM's config: ${fault.field || 'it'} must be ${fault.what}`);
    }
    config = withAbsolutePaths(config);
    if (config.serial.mode === 'tty' && config.console?.mode === 'tty') {
      throw new VmmError(
        'ECONSOLE',
        'the serial port and the virtio console cannot both use the terminal: give one of them file=PATH or off',
      );
    }
    // The threads the first boot takes (a vCPU each) start loading now; with an early run of a VM
    // that runs at once, the first vCPU's starts once the guest runs (boot(), vcpu/thread.ts).
    warmThreads(config.cpus.boot - (options.earlyRun && !paused ? 1 : 0));
    let base = config.cmdline;
    const vsockSide = config.vsock ? await import('./vsock-side') : undefined;
    if (vsockSide && config.vsock?.agent && config.initrd === undefined) {
      throw new VmmError(
        'EAGENTINITRD',
        'the guest agent joins the initramfs, and there is none: give an initrd, or turn the agent off (agent: false)',
      );
    }
    const files = BootImages.open(config);
    let serialFd: number | undefined;
    let devices: Awaited<ReturnType<typeof createVirtioDevices>> = [];
    let muxer: VsockUnixMuxer | undefined;
    /** A hypervisor handle opened here (not given): closed with the VM. */
    let owned: Hypervisor | undefined;
    try {
      if (config.vsock?.socket) vsockSide?.checkVsockSocketFolder(config.vsock.socket);
      // A restored VM's output goes on after what it wrote before the snapshot.
      const output = checkBoot ? 'new' : 'continue';
      if (config.serial.mode === 'file')
        serialFd = openOutputFile(config.serial.path, 'serial output', output);
      if (vsockSide && config.vsock?.agent) {
        files.appendToInitrd(
          vsockSide.agentArchive(vsockSide.readAgentBinary()),
          vsockSide.agentArchiveOffset,
        );
        base = vsockSide.cmdlineWithAgent(base);
      }
      const log = rateLimitedLog((line) => options.log?.(line));
      devices = await createVirtioDevices(config, log, (chunk) => options.output?.('console', chunk), output);
      const placement = virtioPlacement(devices.length);
      const cmdline = withKernelParams(base, virtioCmdline(placement));
      // Load once into memory that keeps nothing: a kernel we do not know, an initrd that does not
      // fit, a command line too long or too little memory fail here, before /dev/kvm is opened.
      if (checkBoot) {
        const dry = new DryRunMemory(memoryLayout(config.memory.size));
        const rsdpAddress = buildAcpiTables(dry, { cpus: config.cpus.boot, devices: placement });
        const held = files.hold();
        loadKernel(dry, held.kernel, {
          initrd: held.initrd,
          cmdline,
          rsdpAddress,
          ramSize: config.memory.size,
          checkOnly: true,
        });
      }
      let hypervisor = options.hypervisor;
      if (!hypervisor) hypervisor = owned = openKvm(options.probe);
      await startVirtioDevices(devices);
      const vsock = vsockSide && devices.find((d): d is VsockDevice => d instanceof vsockSide.VsockDevice);
      if (vsock && config.vsock?.socket) {
        muxer = new vsockSide.VsockUnixMuxer(vsock, config.vsock.socket, log);
        await muxer.start();
      }
      const vmm = new Vmm(
        config,
        files,
        devices,
        hypervisor,
        cmdline,
        options,
        log,
        vsock,
        muxer,
        owned,
        vsockSide,
      );
      vmm.serialFileFd = serialFd;
      return vmm;
    } catch (e) {
      if (serialFd !== undefined) fs.closeSync(serialFd);
      owned?.close?.();
      muxer?.close();
      await Promise.all(devices.map((d) => d.close?.()));
      files.close();
      throw e;
    }
  }

  /** A VmConfig built step by step, started as a library handle: `await Vmm.builder().kernel(k).start()`. */
  static builder(): VmBuilder {
    return new VmBuilder();
  }

  /** Boot and wait until the guest powers off, resets (with noReboot), fails, or stop() is called. */
  async run(): Promise<RunResult> {
    let reboots = 0;
    const serial = this.openSerial();
    this.uartState = serial.state;
    const poller = new EventfdPoller();
    this.drains.push(() => poller.close());
    // A device still letting go (its thread loading) is waited for: the run ends with its files
    // closed (a disk image's lock released), so whoever retries at once finds them free.
    for (const d of this.devices)
      this.cleanups.push(() => {
        const closing = d.close?.();
        if (closing) this.drains.push(() => closing);
      });
    if (this.muxer) this.cleanups.push(() => this.muxer?.close());
    if (this.ownedHypervisor) this.cleanups.push(() => this.ownedHypervisor?.close?.());
    this.cleanups.push(() => this.files.close());
    try {
      for (;;) {
        const reason = await this.boot(serial, poller);
        if (reason.reason === 'stopped' && this.rebootRequested && !this.stopping) {
          this.rebootRequested = false;
          reboots++;
          this.options.log?.(`reboot requested: rebooting (${reboots})`);
          continue;
        }
        if (reason.reason === 'reset' && !this.config.noReboot && !this.stopping) {
          reboots++;
          this.options.log?.(`guest reset: rebooting (${reboots})`);
          continue;
        }
        if (reason.reason === 'poweroff') return { outcome: 'poweroff', exitCode: 0, reboots };
        if (reason.reason === 'reset') return { outcome: 'reset', exitCode: 0, reboots };
        if (reason.reason === 'stopped') return { outcome: 'stopped', exitCode: 0, reboots };
        throw new GuestError(`E${reason.reason.toUpperCase().replace(/-/g, '')}`, describeStop(reason));
      }
    } finally {
      this.ended = true;
      for (const c of this.cleanups.splice(0)) c();
      await Promise.all(this.drains.splice(0).map((d) => d()));
    }
  }

  /**
   * A client of the guest agent over this VM's vsock (each operation its own stream, waiting up
   * to `timeoutMs` for the agent while the guest boots; `progress` says how far the guest got
   * when that runs out). Needs `vsock: { agent: true }`.
   */
  agentClient(timeoutMs = 60_000, progress?: () => string | undefined): AgentClient {
    const vsock = this.vsock;
    const side = this.vsockSide;
    if (!vsock || !side || !this.config.vsock?.agent) {
      throw new VmmError(
        'ENOAGENT',
        'this VM has no guest agent: give it vsock with the agent on (.vsock({ cid: 3 }) in the builder, --vsock cid=3,agent=on)',
      );
    }
    return new side.AgentClient(() => side.openAgentStream(vsock, timeoutMs, () => this.ended, progress));
  }

  private ended = false;

  /**
   * Each device's counters (requests, bytes, drops, refusals, DEVICE_NEEDS_RESET this boot), and
   * KVM's own of the VM and each vCPU.
   */
  counters(): VmmCounters {
    const devices = deviceCounters(this.devices, this.bus);
    const vm = this.vm?.stats?.();
    if (!vm) return { devices };
    return { devices, kvm: { vm, vcpus: this.vcpus.map((v) => v.stats?.() ?? {}) } };
  }

  /** Ask every vCPU to stop; run() then resolves with outcome 'stopped'. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.threads) t.stop();
  }

  /**
   * Park every vCPU outside KVM_RUN, then stop the devices' I/O threads taking requests. Resolves
   * when all are still; false when the guest ended first (nothing is left to pause).
   */
  async pause(): Promise<boolean> {
    // No vCPU threads: between two boots, or ended. Refused before `paused` is set, so a boot
    // starting meanwhile never sees it and parks vCPUs that nobody will resume.
    if (this.threads.length === 0) return false;
    this.paused = true;
    const results = await Promise.all(this.threads.map((t) => t.pause()));
    if (results.includes('stopped')) {
      this.paused = false;
      return false;
    }
    for (const d of this.devices) d.pause?.();
    return true;
  }

  /** Devices first, then the vCPUs: a vCPU that runs finds its devices serving. */
  resume(): void {
    this.paused = false;
    for (const d of this.devices) d.resume?.();
    for (const t of this.threads) t.resume();
    this.threads[0]?.runEarly(); // a restored VM's first resume (VmmOptions.earlyRun)
  }

  /** End this boot and start the machine again from the kernel, as a guest reset does. */
  reboot(): void {
    this.rebootRequested = true;
    this.paused = false; // the new boot runs
    for (const t of this.threads) t.stop();
  }

  /** Press the ACPI power button: the GED's event bit, then its interrupt (the guest's _EVT reads the bit). */
  powerButton(): boolean {
    const ged = this.ged;
    if (!ged) return false;
    Atomics.or(ged.events, 0, GED_EVENT_POWER_BUTTON);
    ged.irq.signal();
    return true;
  }

  /**
   * Write the paused VM to `dir`: guest RAM (only pages that are not all zero), the KVM state of the
   * VM and every vCPU, the monitor's devices, and a manifest with each file's checksum, last.
   */
  async snapshot(dir: string): Promise<SnapshotSummary> {
    const vm = this.vm;
    if (!this.paused || !vm || this.vcpus.length === 0 || !this.uartState || !this.ged) {
      throw new VmmError('EVMSTATE', 'only a paused VM can be snapshotted: pause it first');
    }
    if (!vm.saveState || this.vcpus.some((v) => !v.saveState)) {
      throw new SnapshotError('ESNAPSHOTUNSUPPORTED', 'this hypervisor backend cannot save a VM');
    }
    const kvm = { machine: vm.saveState(), vcpus: this.vcpus.map((v) => v.saveState!()) };
    const transports = this.bus?.saveStates() ?? [];
    const devices = {
      uart: Buffer.from(new Uint8Array(this.uartState)).toString('base64'),
      gedEvents: Atomics.load(this.ged.events, 0),
      virtio: transports.map((transport, i) => {
        const device = this.devices[i]!;
        const facts = device.hostFacts?.();
        const state = device.saveState?.();
        return {
          deviceId: device.deviceId,
          transport,
          ...(facts ? { facts } : {}),
          ...(state !== undefined ? { state } : {}),
        };
      }),
    };
    const { saveSnapshot } = await import('../snapshot/store');
    return saveSnapshot(dir, { config: this.config, kvm, devices, memory: vm.memory });
  }

  /**
   * A VM from a snapshot, checked whole before anything starts: run() brings it back paused, as it
   * was (resume() to run it), or running with `resume`. `serial` replaces where the saved configuration's COM1 went (a new
   * process has its own terminal or files). `prefault` faults the stored guest pages in at once.
   */
  static async restore(dir: string, options: VmmOptions & VmmRestoreOptions = {}): Promise<Vmm> {
    const { loadSnapshot } = await import('../snapshot/store');
    const snap = loadSnapshot(dir, uartStateFault);
    const saved = snap.manifest.config;
    const config: VmConfig = { ...saved, ...options.settings, serial: options.serial ?? saved.serial };
    const paused = options.resume !== true;
    const vmm = await Vmm.open(config, options, false, paused);
    vmm.restoring = snap;
    vmm.prefaultRestore = options.prefault === true;
    vmm.paused = paused;
    return vmm;
  }

  /** The vCPU threads of the current (or last) boot, for earlyRuns. */
  private bootThreads: VcpuThread[] = [];

  /** What the main thread ran of this boot's vCPUs before their threads took them (VmmOptions.earlyRun). */
  get earlyRuns(): EarlyRunReport[] {
    return this.bootThreads.flatMap((t) => (t.earlyRun ? [t.earlyRun] : []));
  }

  /** Whether the VM is paused (its vCPUs parked, or about to be: a restored VM starts so). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** One boot of the machine, until the first vCPU stops; the others are then stopped too. */
  private async boot(serial: SerialPlumbing, poller: EventfdPoller): Promise<StopReason> {
    const { config } = this;
    const layout = memoryLayout(config.memory.size);
    // The first boot of a restored VM: RAM mapped copy-on-write from the snapshot, state set from it.
    const restoring = this.restoring;
    this.restoring = undefined;
    const vm = this.hypervisor.createVm({ ranges: layout.ranges, backingFile: restoring?.memoryFile });
    this.vm = vm;
    let bus: VirtioMmioBus | undefined;
    try {
      vm.createIrqchip();
      const irq = vm.createEventNotifier();
      vm.registerIrqFd(irq, COM1_IRQ);
      serial.attach(irq);
      const gedEvents = new SharedArrayBuffer(4);
      const gedIrq = vm.createEventNotifier();
      vm.registerIrqFd(gedIrq, GED_GSI);
      this.ged = { events: new Int32Array(gedEvents), irq: gedIrq };
      const placement = virtioPlacement(this.devices.length);
      bus = this.devices.length > 0 ? new VirtioMmioBus(vm, this.devices, poller, this.log) : undefined;
      this.bus = bus;
      const servers: MailboxServer[] = [];
      // The vCPUs' threads attach and set up while this thread loads the machine: they start
      // parked and run only once their state is set.
      const ids = restoring ? restoring.kvm.vcpus.map((s) => s.id) : range(config.cpus.boot);
      const vcpus = ids.map((id) => vm.createVcpu(id));
      this.vcpus = vcpus;
      const threads: VcpuThread[] = [];
      for (const vcpu of vcpus) {
        // Run by this thread first, its own thread started at the first tick of that run, when the
        // VM runs at once (a paused one starts its thread now and runs early at its resume).
        const early =
          this.options.earlyRun && vcpu === vcpus[0]
            ? { vcpu, mmio: bus ?? null, startLater: !this.paused }
            : undefined;
        threads.push(
          new VcpuThread(
            {
              id: vcpu.id,
              vcpu: vcpu.attachSpec(),
              uart: { state: serial.state, outFd: serial.outFd, outLimit: serial.outLimit, irqFd: irq.fd },
              mmioMailbox: bus ? newMailbox(bus, servers) : null,
              virtioIsr: bus?.isr ?? null,
              seccomp: config.seccomp ?? 'on',
              gedEvents,
              startPaused: true,
            },
            vcpu,
            this.log,
            early,
          ),
        );
      }
      this.threads = threads;
      this.bootThreads = threads;
      const stopThreads = async (): Promise<void> => {
        for (const t of threads) t.stop();
        await Promise.all(threads.map((t) => Promise.race([t.stopped, delay(2000)])));
        await Promise.all(threads.map((t) => t.terminate()));
        for (const m of servers) m.close();
      };
      // Prefaulting runs on the libuv pool while this thread sets the machine's state.
      const prefaulting = restoring && this.prefaultRestore ? vm.memory.prefault?.() : undefined;
      prefaulting?.catch(() => undefined); // awaited below unless the load fails first
      try {
        if (restoring) this.restoreMachine(vm, vcpus, restoring, serial);
        else this.loadMachine(vm, vcpus, placement);
        await prefaulting;
      } catch (e) {
        await prefaulting?.catch(() => undefined); // RAM is unmapped only once it is done
        await stopThreads();
        throw e;
      }
      // A restored VM never loads what create() read for its check: give it back.
      this.files.release();
      if (!this.paused) for (const t of threads) t.resume();
      if (this.stopping) for (const t of threads) t.stop();
      // The first vCPU's first exits on this thread while its own loads (VmmOptions.earlyRun).
      else if (!this.paused) threads[0]?.runEarly();
      const running = this.options.onRunning;
      if (running) void Promise.all(threads.map((t) => t.ready)).then(running);
      const first = await Promise.race(threads.map((t) => t.stopped));
      await stopThreads();
      poller.unwatchAll();
      bus?.close();
      serial.detach();
      irq.close();
      return first;
    } finally {
      this.threads = [];
      this.vcpus = [];
      this.ged?.irq.close();
      this.ged = undefined;
      // Device I/O threads let go of this boot's memory before it is unmapped.
      bus?.close();
      vm.close();
      this.vm = undefined;
    }
  }

  /** A fresh boot: ACPI tables and the kernel into RAM, vCPU 0 at its entry, the others waiting for SIPI. */
  private loadMachine(
    vm: VirtualMachine,
    vcpus: Vcpu[],
    placement: ReturnType<typeof virtioPlacement>,
  ): void {
    const { config } = this;
    const rsdpAddress = buildAcpiTables(vm.memory, { cpus: config.cpus.boot, devices: placement });
    // The bytes create() read for its check, or the files read again for a reboot; in guest RAM
    // now, so given back.
    const held = this.files.hold();
    let plan: BootPlan;
    try {
      plan = loadKernel(vm.memory, held.kernel, {
        initrd: held.initrd,
        cmdline: this.bootCmdline(),
        rsdpAddress,
        ramSize: config.memory.size,
      });
    } finally {
      this.files.release();
    }
    const supported = vm.supportedCpuid();
    for (const vcpu of vcpus) {
      const { id } = vcpu;
      vcpu.setCpuid(vcpuCpuid(supported, id, config.cpus.boot, config.cpus.nested));
      vcpu.setMsrs(bootMsrs());
      vcpu.setFpuDefaults();
      vcpu.setLapicDefaults();
      if (id === 0) {
        vcpu.setSregs(plan.sregs);
        vcpu.setRegs(plan.regs);
      }
      // Secondary vCPUs stay in the state KVM gives them: waiting for INIT/SIPI from vCPU 0.
    }
  }

  /**
   * The command line every boot loads: for a Linux kernel, with this host's quirks, found at the
   * first boot (a restore needs neither the probe nor the kernel's headers for them).
   */
  private bootCmdline(): string {
    if (this.quirkedCmdline === undefined) {
      const q =
        this.config.hostQuirks === 'auto' && this.files.isLinux
          ? withHostQuirks(this.cmdline, this.options.probe)
          : { cmdline: this.cmdline };
      if (q.notice) this.options.log?.(q.notice);
      this.quirkedCmdline = q.cmdline;
    }
    return this.quirkedCmdline;
  }

  /** A restored boot: RAM is the snapshot's; the VM, its vCPUs and the monitor's devices take its state. */
  private restoreMachine(
    vm: VirtualMachine,
    vcpus: Vcpu[],
    snap: LoadedSnapshot,
    serial: SerialPlumbing,
  ): void {
    if (!vm.restoreState) {
      throw new SnapshotError('ESNAPSHOTUNSUPPORTED', 'this hypervisor backend cannot restore a VM');
    }
    vm.restoreState(snap.kvm.machine);
    snap.kvm.vcpus.forEach((s, i) => {
      const vcpu = vcpus[i]!;
      if (!vcpu.restoreState)
        throw new SnapshotError('ESNAPSHOTUNSUPPORTED', 'this hypervisor backend cannot restore a vCPU');
      vcpu.restoreState(s);
    });
    new Uint8Array(serial.state).set(Buffer.from(snap.devices.uart, 'base64'));
    try {
      if (this.bus || snap.devices.virtio.length > 0) {
        if (!this.bus) throw new RangeError('the snapshot has virtio devices and this VM none');
        // Host-side connections (vsock streams, the NAT's flows) stayed with the old process.
        for (const d of this.devices) d.restored?.();
        this.bus.restoreStates(snap.devices.virtio);
      }
    } catch (e) {
      throw new SnapshotError('ESNAPSHOTMISMATCH', `cannot restore the devices: ${(e as Error).message}`);
    }
    // It comes back paused, the devices too, until resume(); or running (`resume`): the devices
    // serve from the start (paused here, nothing would resume them and the guest's requests waited).
    if (this.paused) for (const d of this.devices) d.pause?.();
    Atomics.store(this.ged!.events, 0, snap.devices.gedEvents);
  }

  private openSerial(): SerialPlumbing {
    const { serial } = this.config;
    const state = createUartState();
    let outFd: number | null = null;
    if (serial.mode === 'tty') {
      const own = reopenNonBlocking(1);
      if (own !== undefined) this.cleanups.push(() => fs.closeSync(own));
      outFd = own ?? 1;
    }
    if (serial.mode === 'file') {
      outFd = this.serialFileFd ?? openOutputFile(serial.path, 'serial output');
      const fd = outFd;
      this.serialFileFd = undefined;
      this.cleanups.push(() => fs.closeSync(fd));
    }
    if (serial.mode === 'capture') outFd = this.capture((chunk) => this.options.output?.('serial', chunk));
    const input =
      serial.mode === 'tty'
        ? (this.options.input ?? process.stdin)
        : serial.mode === 'capture'
          ? this.options.input
          : undefined;
    const limit = serial.mode === 'file' ? serial.max : undefined;
    return new SerialPlumbing(state, outFd, limit, input, this.cleanups);
  }

  /**
   * A pipe whose write end the vCPU threads' UART writes (returned) and whose read end the main
   * thread reads into `deliver`. At the end of the run the write end closes and the reader drains
   * what is left, so the last lines (a panic, "reboot: Power down") are delivered too.
   */
  private capture(deliver: (chunk: Buffer) => void): number {
    const { readFd, writeFd } = createHostPipe();
    const reader = new (nodeNet().Socket)({ fd: readFd, readable: true, writable: false });
    reader.on('data', deliver);
    const done = new Promise<void>((resolve) => {
      reader.on('close', () => resolve());
      reader.on('error', () => resolve());
    });
    this.cleanups.push(() => fs.closeSync(writeFd));
    // Bounded: a writer we do not know of (a forked child holding the fd) cannot hold run() open.
    this.drains.push(async () => {
      await Promise.race([done, delay(2000)]);
      reader.destroy();
    });
    return writeFd;
  }
}

/**
 * Host input held for the guest beyond the UART's receive ring: past this the input stream is
 * paused (its producer waits, as on a pipe), and resumed once the guest has read down to a quarter.
 */
const INPUT_HIGH_WATER = 64 * 1024;

/** The main thread's end of COM1: host input pushed into the shared UART state. */
class SerialPlumbing {
  private uart: Uart16550 | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inputPaused = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.flush();
    // A guest that does not read its input must not make this process hold all the host sends.
    if (this.pendingBytes > INPUT_HIGH_WATER && !this.inputPaused) {
      this.inputPaused = true;
      this.input?.pause();
    }
  };

  constructor(
    readonly state: SharedArrayBuffer,
    readonly outFd: number | null,
    readonly outLimit: number | undefined,
    private readonly input: VmmOptions['input'],
    cleanups: (() => void)[],
  ) {
    if (input) {
      if (input.isTTY && input.setRawMode) {
        input.setRawMode(true);
        cleanups.push(() => input.setRawMode?.(false));
      }
      input.on('data', this.onData);
      cleanups.push(() => {
        input.off('data', this.onData);
        input.pause?.();
        clearTimeout(this.retry);
      });
    }
  }

  attach(irq: EventNotifier): void {
    this.uart = new Uart16550(this.state, null, { trigger: () => irq.signal() });
    this.flush();
  }

  detach(): void {
    this.uart = undefined;
  }

  /** Feed what fits; retry the rest shortly (the guest drains the ring as it reads). */
  private flush(): void {
    const uart = this.uart;
    if (!uart) return;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const n = uart.pushInput(head);
      this.pendingBytes -= n;
      if (n === head.length) this.pending.shift();
      else {
        this.pending[0] = head.subarray(n);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.flush(), 5);
        break;
      }
    }
    if (this.inputPaused && this.pendingBytes <= INPUT_HIGH_WATER / 4) {
      this.inputPaused = false;
      this.input?.resume();
    }
  }
}

function newMailbox(bus: VirtioMmioBus, servers: MailboxServer[]): SharedArrayBuffer {
  const sab = createMailbox();
  servers.push(new MailboxServer(sab, bus));
  return sab;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
