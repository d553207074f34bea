// `vmm run --api-socket path=PATH`: Cloud Hypervisor's REST API for the VM this process runs.
// With --kernel the VM is created and booted from the flags first; with --restore it is restored
// from a snapshot (paused, as Cloud Hypervisor, unless resume=on; without --api-socket it is
// resumed, as nothing could resume it later); without either, the process waits for vm.create
// and vm.boot (or vm.restore). It ends on vmm.shutdown (exit 0), on SIGINT/SIGTERM/SIGHUP (0), or when the
// guest ends the VM by itself (its exit code, as `vmm run`; Cloud Hypervisor also exits then). A VM
// ended through the API (vm.shutdown, vm.delete) leaves the process serving.
import { Vm, type SerialConfig, type VmConfig } from '@vmm/vmm';
import { ApiController, ApiServer, type VmSettings } from '@vmm/vmm/api';
import { parseFlags } from '../args/argv';
import { UsageError } from '../args/errors';
import {
  RUN_FLAGS,
  parseApiSocket,
  parseRestore,
  parseRunFlags,
  parseSerial,
  parseVmSettings,
} from './run-flags';
import { StopSignals } from './stop-signals';

/** Flags that describe the process rather than a VM: taken without --kernel too. */
const PROCESS_FLAGS = ['api-socket', 'seccomp', 'host-quirks', 'no-reboot', 'restore'];

export async function runApiCommand(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS);
  const socketFlag = flags.get('api-socket')?.[0];
  const socket = socketFlag === undefined ? undefined : parseApiSocket(socketFlag);
  const restoreFlag = flags.get('restore')?.[0];
  const restore = restoreFlag === undefined ? undefined : parseRestore(restoreFlag, socket === undefined);
  if (restore && flags.has('kernel'))
    throw new UsageError('--restore brings back a VM that has its own kernel and config: leave out --kernel');
  const settings = parseVmSettings(flags);
  if (flags.has('socks5') || flags.has('forward'))
    throw new UsageError(
      '--socks5 and --forward are not served with --api-socket (its VM can be deleted and created again): leave one out',
    );
  let config: VmConfig | undefined;
  if (flags.has('kernel')) {
    config = parseRunFlags(argv) as VmConfig;
  } else {
    // A restored VM's COM1 may be sent elsewhere than the terminal (its guest is the snapshot's).
    const taken = restore ? [...PROCESS_FLAGS, 'serial'] : PROCESS_FLAGS;
    const vmFlag = [...flags.keys()].find((f) => !taken.includes(f));
    if (vmFlag && restore)
      throw new UsageError(
        `--${vmFlag} describes a VM, and --restore brings back the VM its snapshot describes: leave out --${vmFlag}`,
      );
    if (vmFlag)
      throw new UsageError(
        `--${vmFlag} describes a VM: give --kernel too, or leave it out and send the VM's config with vm.create`,
      );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see --help)`);
  }

  const serialText = flags.get('serial')?.[0];
  const restoredSerial: SerialConfig =
    restore && serialText !== undefined ? parseSerial('--serial', serialText) : { mode: 'tty' };
  // The process's flags given with --restore stand instead of the snapshot's configuration.
  const restoredSettings = {
    ...(flags.has('seccomp') ? { seccomp: settings.seccomp } : {}),
    ...(flags.has('no-reboot') ? { noReboot: true } : {}),
    ...(flags.has('host-quirks') ? { hostQuirks: settings.hostQuirks } : {}),
  };
  const controller = new ApiController({
    start: startVm,
    restore: (dir, options) => restoreVm(dir, options, restoredSerial, restoredSettings),
  });
  const server =
    socket === undefined
      ? undefined
      : await ApiServer.listen({
          path: socket,
          controller,
          settings,
          log: (line) => process.stderr.write(`vmm: ${line}\n`),
        });
  let signals: StopSignals | undefined;
  let code = 1;
  try {
    const ended = new Promise<number>((resolve) => {
      controller.on('vm-exit', (exit, { requested }) => {
        if (requested) return;
        if (exit.error) process.stderr.write(`vmm: ${exit.error.message}\n`);
        resolve(exit.exitCode);
      });
      void server?.closed.then(() => resolve(0));
      // Without a socket nothing can end the VM but its guest or a signal: a requested end is the end.
      if (!server) controller.on('vm-exit', (exit) => resolve(exit.exitCode));
      // SIGHUP too: its terminal went away (QEMU ends on it too); the API socket is removed.
      signals = new StopSignals(() => void controller.shutdownVmm().finally(() => resolve(0)));
    });
    if (config) {
      await controller.create(config);
      await controller.boot();
    }
    if (restore) await controller.restore(restore);
    code = await ended;
    return code;
  } finally {
    await controller.shutdownVmm().catch(() => {});
    await server?.close();
    signals?.settle(code);
  }
}

/** Boot a VM as the API's: its notices on stderr, and this terminal's input on its serial port when that is the terminal. */
async function startVm(config: VmConfig): Promise<Vm> {
  const vm = await Vm.start(config, { earlyRun: true });
  vm.on('log', (line) => process.stderr.write(`vmm: ${line}\n`));
  if (config.serial.mode === 'tty') typeInto(vm);
  return vm;
}

/**
 * Restore a snapshot as the API's VM: COM1 on this terminal (and its input) or where `serial`
 * says (a file goes on after what is in it), notices on stderr.
 */
async function restoreVm(
  dir: string,
  options: { prefault: boolean; resume: boolean },
  serial: SerialConfig,
  settings: Partial<VmSettings>,
): Promise<{ vm: Vm; config: VmConfig }> {
  const { prefault, resume } = options;
  const vm = await Vm.restore(dir, { serial, prefault, resume, settings, earlyRun: true });
  vm.on('log', (line) => process.stderr.write(`vmm: ${line}\n`));
  if (serial.mode === 'tty') typeInto(vm);
  return { vm, config: vm.config! };
}

/** stdin (raw, when it is a terminal) to the VM's COM1 until the VM ends. */
function typeInto(vm: Vm): void {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  // Piped, so that stdin waits while the guest does not read (a paused pipe holds it, not this process).
  stdin.pipe(vm.console.input, { end: false });
  void vm.exited.then(() => {
    stdin.unpipe(vm.console.input);
    stdin.pause();
    if (raw) stdin.setRawMode(false);
  });
}
