import {
  onOff,
  parseKeyValues
} from "./chunk-LRQRTXU3.js";
import {
  parseFlags
} from "./chunk-EZLHUZ5K.js";
import {
  UsageError
} from "./chunk-UIFDWR27.js";

// src/commands/remote.ts
import fs from "fs";
import { VmmError } from "@vmm/vmm";
import { ApiClient, ApiRequestError, MAX_BODY_BYTES } from "@vmm/vmm/api";
var REMOTE_FLAGS = {
  "api-socket": {
    value: true,
    arg: "PATH",
    help: "the socket of vmm run --api-socket (path=PATH also taken)"
  },
  help: { value: false, help: "show this help" }
};
var COMMANDS = {
  ping: { endpoint: "vmm.ping", help: "the VMM: version, pid, features" },
  "shutdown-vmm": { endpoint: "vmm.shutdown", help: "stop the VM and end the vmm process" },
  create: {
    endpoint: "vm.create",
    arg: "config",
    help: "create the VM from Cloud Hypervisor's VmConfig JSON: a file, - for stdin, or inline ({...})"
  },
  boot: { endpoint: "vm.boot", help: "boot the created VM" },
  info: { endpoint: "vm.info", help: "the VM: config, state, memory_actual_size" },
  counters: { endpoint: "vm.counters", help: "each device's counters" },
  pause: { endpoint: "vm.pause", help: "pause the running VM" },
  resume: { endpoint: "vm.resume", help: "resume the paused VM" },
  reboot: { endpoint: "vm.reboot", help: "reset the VM; the guest boots again" },
  shutdown: { endpoint: "vm.shutdown", help: "shut the VM down (the config stays: boot starts it again)" },
  "power-button": { endpoint: "vm.power-button", help: "press the ACPI power button" },
  delete: { endpoint: "vm.delete", help: "stop the VM and forget its config" },
  snapshot: {
    endpoint: "vm.snapshot",
    arg: "snapshot",
    help: "snapshot the paused VM to file:///DIR (a new or empty directory)"
  },
  restore: {
    endpoint: "vm.restore",
    arg: "restore",
    help: "restore from file:///DIR, or source_url=file:///DIR[,resume=on][,prefault=on]: paused unless resume=on"
  }
};
var REMOTE_HELP = `Usage: vmm remote --api-socket PATH COMMAND [ARG]

Commands:
${Object.entries(COMMANDS).map(
  ([name, c]) => `  ${`${name}${c.arg === "config" ? " FILE|-|JSON" : c.arg ? " URL" : ""}`.padEnd(24)}${c.help}`
).join("\n")}

Options:
  --api-socket PATH       ${REMOTE_FLAGS["api-socket"].help}
  --help                  show this help
`;
async function remoteCommand(argv) {
  const { flags, positionals } = parseFlags(argv, REMOTE_FLAGS);
  if (flags.has("help")) {
    process.stdout.write(REMOTE_HELP);
    return 0;
  }
  const socketText = flags.get("api-socket")?.[0];
  if (socketText === void 0) throw new UsageError("--api-socket PATH is required (see vmm remote --help)");
  const socket = socketText.startsWith("path=") ? socketText.slice(5) : socketText;
  if (socket === "") throw new UsageError("--api-socket needs a path");
  const [name, arg, ...extra] = positionals;
  if (name === void 0)
    throw new UsageError(`a command is needed: ${Object.keys(COMMANDS).join(", ")} (see vmm remote --help)`);
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : void 0;
  if (!command)
    throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(", ")})`);
  if (extra.length > 0 || arg !== void 0 && !command.arg)
    throw new UsageError(`${name}: unexpected argument '${extra[0] ?? arg}'`);
  if (command.arg && arg === void 0)
    throw new UsageError(
      `${name} needs ${command.arg === "config" ? "a VmConfig: FILE, - or JSON" : "a file:// URL"}`
    );
  const body = command.arg ? await bodyOf(name, command.arg, arg) : void 0;
  let answer;
  try {
    answer = await new ApiClient(socket).call(command.endpoint, body);
  } catch (e) {
    if (e instanceof ApiRequestError) throw new VmmError(e.code, `${e.message} (HTTP ${e.status} ${e.code})`);
    throw e;
  }
  if (answer !== void 0) process.stdout.write(`${JSON.stringify(answer, null, 2)}
`);
  return 0;
}
async function bodyOf(name, kind, arg) {
  if (kind === "snapshot") {
    const url = arg.startsWith("destination_url=") ? arg.slice("destination_url=".length) : arg;
    return { destination_url: url };
  }
  if (kind === "restore") {
    if (!arg.startsWith("source_url=")) return { source_url: arg };
    const kv = parseKeyValues("restore", arg, ["source_url", "resume", "prefault"]);
    const resume = onOff("restore", kv, "resume");
    const prefault = onOff("restore", kv, "prefault");
    return {
      source_url: kv.get("source_url"),
      ...resume === void 0 ? {} : { resume },
      ...prefault === void 0 ? {} : { prefault }
    };
  }
  if (arg.trimStart().startsWith("{")) return arg;
  if (arg === "-") return readAll(process.stdin, name);
  let st;
  try {
    st = fs.statSync(arg);
  } catch (e) {
    throw new UsageError(
      `${name}: cannot read ${arg} (${e.code}): give a JSON file, - or {...}`
    );
  }
  if (!st.isFile()) throw new UsageError(`${name}: ${arg} is not a file: give a JSON file, - or {...}`);
  if (st.size > MAX_BODY_BYTES)
    throw new UsageError(`${name}: ${arg} is over ${MAX_BODY_BYTES} bytes, more than the API takes`);
  return fs.readFileSync(arg, "utf8");
}
async function readAll(stream, name) {
  const chunks = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += b.length;
    if (size > MAX_BODY_BYTES)
      throw new UsageError(`${name}: stdin is over ${MAX_BODY_BYTES} bytes, more than the API takes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}
export {
  REMOTE_FLAGS,
  REMOTE_HELP,
  remoteCommand
};
//# sourceMappingURL=remote-XRTER2HE.js.map