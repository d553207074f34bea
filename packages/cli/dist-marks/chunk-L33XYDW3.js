import {
  onOff,
  onOffValue,
  parseKeyValues
} from "./chunk-LRQRTXU3.js";
import {
  parseFlags
} from "./chunk-EZLHUZ5K.js";
import {
  UsageError
} from "./chunk-UIFDWR27.js";

// src/commands/run-flags.ts
import { parseDnsUpstream, parseHostForward, parseOutboundDeny } from "@vmm/net/options";
import {
  MAX_DISK_POLL_US,
  MAX_VCPUS,
  defaultConfig,
  restoreFromCh,
  splitHostPort
} from "@vmm/vmm";

// src/args/size.ts
import { parseByteSize } from "@vmm/vmm";
function parseSize(text, what) {
  const n = parseByteSize(text);
  if (n === void 0) throw new UsageError(`${what}: '${text}' is not a size (use e.g. 512M or 2G)`);
  return n;
}

// src/commands/run-flags.ts
var RUN_FLAGS = {
  kernel: { value: true, arg: "PATH", help: "kernel: PVH ELF, vmlinux ELF or bzImage (required)" },
  initrd: { value: true, arg: "PATH", help: "initial ramdisk (initramfs) loaded for the kernel" },
  cmdline: { value: true, arg: "STR", help: "kernel command line" },
  cpus: {
    value: true,
    arg: "boot=N[,nested=on|off]",
    help: `number of vCPUs, 1 to ${MAX_VCPUS} (default boot=1); nested=on shows them VMX/SVM so the guest can run VMs itself (default off)`
  },
  memory: { value: true, arg: "size=SIZE", help: "guest RAM, e.g. 512M or 4G (default size=512M)" },
  serial: {
    value: true,
    arg: "tty|file=PATH[,max=SIZE]|off|null",
    help: "COM1 16550: to this terminal (default), a file (at most max bytes, e.g. 100M), or nowhere (off and null alike: the port is always there)"
  },
  disk: {
    value: true,
    repeat: true,
    arg: "path=FILE[,readonly=on][,serial=ID][,poll_us=N][,discard=unmap|ignore]",
    help: "virtio-blk disk from a raw image (repeatable: /dev/vda, /dev/vdb, ...)"
  },
  fs: {
    value: true,
    repeat: true,
    arg: "tag=NAME,path=DIR[,readonly=on][,cache=never|auto|always]",
    help: "virtio-fs: share host directory DIR, mounted in the guest with `mount -t virtiofs NAME /mnt` (repeatable); cache=always only for a directory nothing but the guest changes (default auto)"
  },
  net: {
    value: true,
    optional: true,
    repeat: true,
    arg: "[mac=..][,tap=..][,hostfwd=..][,host_loopback=on][,dns=IP:PORT][,mtu=N][,deny=host+linklocal+CIDR]",
    help: "virtio-net on the userspace NAT (10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3; --net alone: all defaults) or a tap; repeatable, hostfwd too (tcp:127.0.0.1:8022-:22); deny= refuses the host's own addresses, 169.254/16 and the networks named (default: none)"
  },
  console: {
    value: true,
    arg: "tty|file=PATH[,max=SIZE]|off|null",
    help: "virtio-console hvc0 (default off: no device); null: the device, its output dropped; a file holds at most max bytes"
  },
  rng: { value: false, help: "virtio-rng fed from the host CSPRNG" },
  vsock: {
    value: true,
    arg: "cid=N[,socket=PATH][,agent=on]",
    help: "virtio-vsock with guest CID N (3 and up); socket=PATH serves Firecracker's hybrid vsock there (CONNECT <port>; the guest's connections to host port P go to PATH_P); agent=on adds the guest agent to the initramfs"
  },
  socks5: {
    value: true,
    arg: "HOST:PORT",
    help: "a SOCKS5 proxy (RFC 1928 CONNECT, no auth) on the host whose connections the guest agent opens inside the guest (needs --vsock ...,agent=on)"
  },
  forward: {
    value: true,
    repeat: true,
    arg: "tcp:HOST:PORT-vsock:GUESTPORT",
    help: "a host TCP port carried to the guest's TCP port GUESTPORT on its loopback, through the agent over vsock (needs --vsock ...,agent=on); repeatable"
  },
  "no-reboot": { value: false, help: "end with exit code 0 when the guest resets, instead of rebooting it" },
  "host-quirks": {
    value: true,
    arg: "auto|off",
    help: "on a software-emulated KVM host, add what a Linux guest needs to its command line (default auto)"
  },
  seccomp: {
    value: true,
    arg: "true|false|log",
    help: "a seccomp allow-list on every vCPU and device thread: true kills the monitor on a call outside it (default), log lets it through and has the kernel log it, false installs none"
  },
  "api-socket": {
    value: true,
    arg: "path=PATH",
    help: "serve Cloud Hypervisor's REST API on this Unix socket (mode 0600; see vmm remote); without --kernel, wait for vm.create and vm.boot"
  },
  restore: {
    value: true,
    arg: "source_url=file:///DIR[,resume=on|off][,prefault=on|off]",
    help: "bring back the VM a snapshot in DIR holds (vm.snapshot), paused as it was saved; resume=on (the default without --api-socket) runs it; prefault=on copies the stored guest pages in during the restore instead of as the guest touches them; COM1 comes to this terminal unless --serial says otherwise"
  },
  help: { value: false, help: "show this help" }
};
function parseVmSettings(flags) {
  const quirks = flags.get("host-quirks")?.[0] ?? "auto";
  if (quirks !== "auto" && quirks !== "off" && quirks !== "on") {
    throw new UsageError(`--host-quirks: '${quirks}' is not auto or off`);
  }
  const seccompText = flags.get("seccomp")?.[0] ?? "true";
  const seccomp = { true: "on", false: "off", log: "log" }[seccompText];
  if (!seccomp) throw new UsageError(`--seccomp: '${seccompText}' is not true, false or log`);
  return { noReboot: flags.has("no-reboot"), hostQuirks: quirks === "off" ? "off" : "auto", seccomp };
}
function parseApiSocket(text) {
  const path = parseKeyValues("--api-socket", text, ["path"]).get("path");
  if (path === void 0) throw new UsageError(`--api-socket: path=PATH is required in '${text}'`);
  return path;
}
function parseRestore(text, resumeByDefault) {
  const kv = parseKeyValues("--restore", text, ["source_url", "resume", "prefault"]);
  const url = kv.get("source_url");
  if (url === void 0) throw new UsageError(`--restore: source_url=file:///DIR is required in '${text}'`);
  const resume = onOff("--restore", kv, "resume");
  try {
    return restoreFromCh({
      source_url: url,
      resume: resume ?? resumeByDefault,
      prefault: onOff("--restore", kv, "prefault") ?? false
    });
  } catch (e) {
    throw new UsageError(`--restore: ${e.message}`);
  }
}
function parseRunExtras(argv, config) {
  const { flags } = parseFlags(argv, RUN_FLAGS);
  const socks5 = flags.get("socks5")?.[0];
  const forwards = (flags.get("forward") ?? []).map(parseForward);
  if ((socks5 !== void 0 || forwards.length > 0) && !config.vsock?.agent) {
    throw new UsageError("--socks5 and --forward go through the guest agent: add --vsock cid=N,agent=on");
  }
  if (socks5 !== void 0 && !splitHostPort(socks5))
    throw new UsageError(`--socks5: '${socks5}' is not HOST:PORT (e.g. 127.0.0.1:1080)`);
  return { socks5, forwards };
}
function parseForward(text) {
  const m = /^tcp:(.+)-vsock:(\d{1,5})$/.exec(text);
  const guestPort = m ? Number(m[2]) : NaN;
  if (!m || !splitHostPort(m[1]) || !(guestPort >= 1 && guestPort <= 65535))
    throw new UsageError(
      `--forward: '${text}' is not tcp:HOST:PORT-vsock:GUESTPORT (e.g. tcp:127.0.0.1:8080-vsock:80)`
    );
  return { listen: m[1], guestPort };
}
function parseRunFlags(argv) {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS);
  if (flags.has("help")) return "help";
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see --help)`);
  const one = (name) => flags.get(name)?.[0];
  const kernel = one("kernel");
  if (kernel === void 0)
    throw new UsageError(
      "--kernel PATH is required (or --api-socket path=PATH to take the VM from vm.create)"
    );
  if (kernel === "") throw new UsageError("--kernel needs a path");
  let boot = defaultConfig.cpus.boot;
  let nested = false;
  const cpus = one("cpus");
  if (cpus !== void 0) {
    const kv = parseKeyValues("--cpus", cpus, ["boot", "nested"]);
    const text = kv.get("boot");
    if (text === void 0) throw new UsageError("--cpus needs boot=N");
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_VCPUS) {
      throw new UsageError(`--cpus: boot=${text} is not a vCPU count from 1 to ${MAX_VCPUS}`);
    }
    boot = Number(text);
    nested = onOff("--cpus", kv, "nested") ?? false;
  }
  let size = defaultConfig.memory.size;
  const memory = one("memory");
  if (memory !== void 0) {
    const text = parseKeyValues("--memory", memory, ["size"]).get("size");
    if (text === void 0) throw new UsageError("--memory needs size=SIZE");
    size = parseSize(text, "--memory size");
    if (size === 0) throw new UsageError("--memory: size must be more than 0");
  }
  let serial = defaultConfig.serial;
  const serialText = one("serial");
  if (serialText !== void 0) serial = parseSerial("--serial", serialText);
  const settings = parseVmSettings(flags);
  const disks = (flags.get("disk") ?? []).map(parseDisk);
  const nets = (flags.get("net") ?? []).map(parseNet);
  const shares = (flags.get("fs") ?? []).map(parseShare);
  const vsockText = one("vsock");
  const consoleText = one("console");
  const virtioConsole = consoleText === void 0 ? void 0 : parseSerial("--console", consoleText);
  if (serial.mode === "tty" && virtioConsole?.mode === "tty") {
    throw new UsageError(
      "--serial tty and --console tty cannot share the terminal: give one file=PATH or off"
    );
  }
  return {
    kernel,
    initrd: one("initrd"),
    cmdline: one("cmdline") ?? defaultConfig.cmdline,
    cpus: nested ? { boot, nested } : { boot },
    memory: { size },
    serial,
    noReboot: settings.noReboot,
    hostQuirks: settings.hostQuirks,
    disks,
    nets,
    ...shares.length > 0 ? { shares } : {},
    console: virtioConsole,
    rng: flags.has("rng"),
    seccomp: settings.seccomp,
    vsock: vsockText === void 0 ? void 0 : parseVsock(vsockText)
  };
}
function parseVsock(text) {
  const kv = parseKeyValues("--vsock", text, ["cid", "socket", "agent"]);
  const cidText = kv.get("cid");
  if (cidText === void 0) throw new UsageError(`--vsock: cid=N is required in '${text}'`);
  const cid = /^\d{1,10}$/.test(cidText) ? Number(cidText) : NaN;
  if (!(cid >= 3 && cid <= 4294967294))
    throw new UsageError(`--vsock: cid=${cidText} is not a guest CID from 3 to 4294967294`);
  const agent = onOff("--vsock", kv, "agent") ?? false;
  const socket = kv.get("socket");
  if (socket === "") throw new UsageError("--vsock: socket= needs a path");
  const out = { cid, agent };
  if (socket !== void 0) out.socket = socket;
  return out;
}
function parseDisk(text) {
  const kv = parseKeyValues("--disk", text, ["path", "readonly", "serial", "poll_us", "discard"]);
  const path = kv.get("path");
  if (path === void 0) throw new UsageError(`--disk: path=FILE is required in '${text}'`);
  const readonly = onOff("--disk", kv, "readonly") ?? false;
  const serial = kv.get("serial");
  if (serial !== void 0 && Buffer.byteLength(serial) > 20) {
    throw new UsageError(`--disk: serial '${serial}' is longer than 20 bytes (virtio-blk GET_ID)`);
  }
  const poll = kv.get("poll_us");
  if (poll !== void 0 && !(/^\d+$/.test(poll) && Number(poll) <= MAX_DISK_POLL_US)) {
    throw new UsageError(
      `--disk: poll_us=${poll} is not a whole number of microseconds from 0 to ${MAX_DISK_POLL_US}`
    );
  }
  const discard = kv.get("discard");
  if (discard !== void 0 && discard !== "unmap" && discard !== "ignore")
    throw new UsageError(`--disk: discard=${discard} is not unmap or ignore`);
  const disk = { path, readonly, serial };
  if (discard !== void 0) disk.discard = discard;
  if (poll !== void 0) disk.pollUs = Number(poll);
  return disk;
}
function parseShare(text) {
  const kv = parseKeyValues("--fs", text, ["tag", "path", "readonly", "cache"]);
  const tag = kv.get("tag");
  if (tag === void 0) throw new UsageError(`--fs: tag=NAME is required in '${text}'`);
  if (tag === "" || Buffer.byteLength(tag) > 36)
    throw new UsageError(`--fs: tag '${tag}' is not 1 to 36 bytes (virtio-fs tag)`);
  const path = kv.get("path");
  if (path === void 0 || path === "") throw new UsageError(`--fs: path=DIR is required in '${text}'`);
  const readonly = onOff("--fs", kv, "readonly") ?? false;
  const cache = kv.get("cache");
  if (cache !== void 0 && cache !== "never" && cache !== "auto" && cache !== "always")
    throw new UsageError(`--fs: cache=${cache} is not never, auto or always`);
  const share = { tag, path, readonly };
  if (cache !== void 0) share.cache = cache;
  return share;
}
function parseSerial(flag, text) {
  const kv = parseKeyValues(flag, text, ["mode", "file", "max"], {
    key: "mode",
    values: ["tty", "off", "null"]
  });
  const file = kv.get("file");
  const mode = kv.get("mode");
  const max = kv.get("max");
  if (file !== void 0 && mode !== void 0)
    throw new UsageError(`${flag}: give either file=PATH or tty/off/null`);
  if (max !== void 0 && file === void 0) throw new UsageError(`${flag}: max=SIZE bounds a file=PATH`);
  if (file !== void 0) {
    const out = { mode: "file", path: file };
    if (max !== void 0) out.max = parseSize(max, `${flag} max`);
    return out;
  }
  if (mode === "tty" || mode === "off" || mode === "null") return { mode };
  throw new UsageError(`${flag}: '${text}' is not tty, file=PATH, off or null`);
}
var NET_KEYS = ["mac", "tap", "hostfwd", "host_loopback", "dns", "mtu", "deny"];
function parseNet(text) {
  const net = {};
  const seen = /* @__PURE__ */ new Set();
  for (const part of text === "" ? [] : text.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    if (!NET_KEYS.includes(key))
      throw new UsageError(`--net: unknown key '${key}' (keys: ${NET_KEYS.join(", ")})`);
    if (value === "") throw new UsageError(`--net: '${key}' needs a value`);
    if (key !== "hostfwd" && seen.has(key)) throw new UsageError(`--net: '${key}' given twice`);
    seen.add(key);
    try {
      if (key === "mac") net.mac = value;
      else if (key === "tap") net.tap = value;
      else if (key === "hostfwd") net.hostForwards = [...net.hostForwards ?? [], parseHostForward(value)];
      else if (key === "dns") net.dns = parseDnsUpstream(value);
      else if (key === "deny") net.deny = parseOutboundDeny(value);
      else if (key === "host_loopback") net.hostLoopback = onOffValue("--net", key, value);
      else if (key === "mtu") {
        if (!/^\d+$/.test(value) || Number(value) < 576 || Number(value) > 65520) {
          throw new UsageError(`--net: mtu=${value} is not a number from 576 to 65520`);
        }
        net.mtu = Number(value);
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`--net: ${e.message}`);
    }
  }
  if (net.tap && (net.hostForwards || net.hostLoopback !== void 0 || net.dns || net.deny)) {
    throw new UsageError(
      "--net: hostfwd, host_loopback, dns and deny are NAT options; a tap interface takes none of them"
    );
  }
  return net;
}

export {
  RUN_FLAGS,
  parseVmSettings,
  parseApiSocket,
  parseRestore,
  parseRunExtras,
  parseRunFlags,
  parseSerial
};
//# sourceMappingURL=chunk-L33XYDW3.js.map