import {
  StopSignals
} from "./chunk-NSACZRKH.js";
import {
  RUN_FLAGS,
  parseApiSocket,
  parseRestore,
  parseRunFlags,
  parseSerial,
  parseVmSettings
} from "./chunk-L33XYDW3.js";
import "./chunk-LRQRTXU3.js";
import {
  parseFlags
} from "./chunk-EZLHUZ5K.js";
import {
  UsageError
} from "./chunk-UIFDWR27.js";

// src/commands/run-api.ts
import { Vm } from "@vmm/vmm";
import { ApiController, ApiServer } from "@vmm/vmm/api";
var PROCESS_FLAGS = ["api-socket", "seccomp", "host-quirks", "no-reboot", "restore"];
async function runApiCommand(argv) {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS);
  const socketFlag = flags.get("api-socket")?.[0];
  const socket = socketFlag === void 0 ? void 0 : parseApiSocket(socketFlag);
  const restoreFlag = flags.get("restore")?.[0];
  const restore = restoreFlag === void 0 ? void 0 : parseRestore(restoreFlag, socket === void 0);
  if (restore && flags.has("kernel"))
    throw new UsageError("--restore brings back a VM that has its own kernel and config: leave out --kernel");
  const settings = parseVmSettings(flags);
  if (flags.has("socks5") || flags.has("forward"))
    throw new UsageError(
      "--socks5 and --forward are not served with --api-socket (its VM can be deleted and created again): leave one out"
    );
  let config;
  if (flags.has("kernel")) {
    config = parseRunFlags(argv);
  } else {
    const taken = restore ? [...PROCESS_FLAGS, "serial"] : PROCESS_FLAGS;
    const vmFlag = [...flags.keys()].find((f) => !taken.includes(f));
    if (vmFlag && restore)
      throw new UsageError(
        `--${vmFlag} describes a VM, and --restore brings back the VM its snapshot describes: leave out --${vmFlag}`
      );
    if (vmFlag)
      throw new UsageError(
        `--${vmFlag} describes a VM: give --kernel too, or leave it out and send the VM's config with vm.create`
      );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see --help)`);
  }
  const serialText = flags.get("serial")?.[0];
  const restoredSerial = restore && serialText !== void 0 ? parseSerial("--serial", serialText) : { mode: "tty" };
  const restoredSettings = {
    ...flags.has("seccomp") ? { seccomp: settings.seccomp } : {},
    ...flags.has("no-reboot") ? { noReboot: true } : {},
    ...flags.has("host-quirks") ? { hostQuirks: settings.hostQuirks } : {}
  };
  const controller = new ApiController({
    start: startVm,
    restore: (dir, options) => restoreVm(dir, options, restoredSerial, restoredSettings)
  });
  const server = socket === void 0 ? void 0 : await ApiServer.listen({
    path: socket,
    controller,
    settings,
    log: (line) => process.stderr.write(`vmm: ${line}
`)
  });
  let signals;
  let code = 1;
  try {
    const ended = new Promise((resolve) => {
      controller.on("vm-exit", (exit, { requested }) => {
        if (requested) return;
        if (exit.error) process.stderr.write(`vmm: ${exit.error.message}
`);
        resolve(exit.exitCode);
      });
      void server?.closed.then(() => resolve(0));
      if (!server) controller.on("vm-exit", (exit) => resolve(exit.exitCode));
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
    await controller.shutdownVmm().catch(() => {
    });
    await server?.close();
    signals?.settle(code);
  }
}
async function startVm(config) {
  const vm = await Vm.start(config, { earlyRun: true });
  vm.on("log", (line) => process.stderr.write(`vmm: ${line}
`));
  if (config.serial.mode === "tty") typeInto(vm);
  return vm;
}
async function restoreVm(dir, options, serial, settings) {
  const { prefault, resume } = options;
  const vm = await Vm.restore(dir, { serial, prefault, resume, settings, earlyRun: true });
  vm.on("log", (line) => process.stderr.write(`vmm: ${line}
`));
  if (serial.mode === "tty") typeInto(vm);
  return { vm, config: vm.config };
}
function typeInto(vm) {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  stdin.pipe(vm.console.input, { end: false });
  void vm.exited.then(() => {
    stdin.unpipe(vm.console.input);
    stdin.pause();
    if (raw) stdin.setRawMode(false);
  });
}
export {
  runApiCommand
};
//# sourceMappingURL=run-api-K7O7WDGH.js.map