import {
  parseFlags
} from "./chunk-EZLHUZ5K.js";
import {
  UsageError
} from "./chunk-UIFDWR27.js";

// src/nat/index.ts
import { execFileSync } from "child_process";
import fs from "fs";
import { formatIpv4, formatOutboundDeny, NatStack, TapDevice, withNetns } from "@vmm/net";
import { rateLimitedLog } from "@vmm/vmm";

// src/nat/flags.ts
import {
  defaultConfig,
  parseDnsUpstream,
  parseHostForward,
  parseOutboundDeny,
  MAX_MTU,
  MIN_MTU
} from "@vmm/net";
var NAT_HELP = `Usage: vmm nat --netns PATH|PID [options]

Serves a network namespace through a tap device with the userspace NAT (like slirp4netns).
The namespace sees: guest 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3, DHCP on the tap.

  --netns PATH|PID      the namespace: a file like /var/run/netns/NAME, or a process's PID
  --tap NAME            tap device to create in the namespace (default tap0)
  --mtu N               MTU, ${MIN_MTU} to ${MAX_MTU} (default 1500)
  --configure           set the tap's address, MTU and default route and bring it up
  --hostfwd RULE        forward a host port: tcp:127.0.0.1:8022-:22 or udp::5353-:53 (repeatable)
  --host-loopback       let the namespace reach the host's 127.0.0.1 at 10.0.2.2
  --dns IP:PORT         DNS upstream (default: the first nameserver in /etc/resolv.conf)
  --deny RULES          refuse destinations: host (the host's own addresses), linklocal
                        (169.254.0.0/16), IPv4 networks; joined by +, e.g. host+linklocal+10.0.0.0/8
                        (default: nothing beyond 127/8, which --host-loopback opens at 10.0.2.2)

Runs until the namespace is deleted (or its process exits) or until SIGINT/SIGTERM.
`;
function parseNatArgs(argv) {
  const { flags, positionals } = parseFlags(argv, {
    netns: { value: true },
    tap: { value: true },
    mtu: { value: true },
    configure: { value: false },
    hostfwd: { value: true, repeat: true },
    "host-loopback": { value: false },
    dns: { value: true },
    deny: { value: true },
    help: { value: false }
  });
  if (flags.has("help")) return { netns: "", tap: "", configure: false, config: defaultConfig(), help: true };
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument '${positionals[0]}' (vmm nat takes only flags; see vmm nat --help)`
    );
  const netns = flags.get("netns")?.[0];
  if (!netns)
    throw new UsageError("vmm nat needs --netns PATH|PID (for example --netns /var/run/netns/NAME)");
  const tap = flags.get("tap")?.[0] ?? "tap0";
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tap))
    throw new UsageError(`--tap '${tap}' is not a device name: use 1 to 15 letters, digits, '_', '.', '-'`);
  const mtuText = flags.get("mtu")?.[0] ?? "1500";
  const mtu = Number(mtuText);
  if (!/^\d+$/.test(mtuText) || mtu < MIN_MTU || mtu > MAX_MTU)
    throw new UsageError(`--mtu ${mtuText} is out of range: use ${MIN_MTU} to ${MAX_MTU}`);
  try {
    const hostForwards = (flags.get("hostfwd") ?? []).map(parseHostForward);
    const dns = flags.get("dns")?.[0];
    const deny = flags.get("deny")?.[0];
    const config = defaultConfig({
      mtu,
      hostForwards,
      hostLoopback: flags.has("host-loopback"),
      ...dns ? { dnsUpstream: parseDnsUpstream(dns) } : {},
      ...deny ? { deny: parseOutboundDeny(deny) } : {}
    });
    return { netns, tap, configure: flags.has("configure"), config, help: false };
  } catch (e) {
    throw new UsageError(e.message);
  }
}

// src/nat/index.ts
var WATCH_MS = 500;
async function natCommand(argv) {
  const opts = parseNatArgs(argv);
  if (opts.help) {
    process.stdout.write(NAT_HELP);
    return 0;
  }
  const nsFile = /^\d+$/.test(opts.netns) ? `/proc/${opts.netns}/ns/net` : opts.netns;
  const identity = nsIdentity(nsFile);
  if (!identity)
    throw new Error(
      `network namespace ${nsFile} does not exist: create it (ip netns add NAME) or give a live PID`
    );
  const tap = withNetns(opts.netns, () => new TapDevice(opts.tap));
  const log = rateLimitedLog((line) => process.stderr.write(`vmm nat: ${line}
`));
  const stack = new NatStack(tap, { ...opts.config, log });
  try {
    await stack.start();
    if (opts.configure) configure(nsFile, tap.name, opts);
  } catch (e) {
    stack.close();
    tap.close();
    throw e;
  }
  tap.start(stack);
  const c = opts.config;
  process.stdout.write(
    `vmm nat: serving ${tap.name} in ${nsFile} (guest ${formatIpv4(c.guest)}/${c.prefixLength}, gateway ${formatIpv4(c.gateway)}, dns ${formatIpv4(c.dns)}, mtu ${c.mtu}${c.hostLoopback ? ", host loopback on" : ""}, deny ${formatOutboundDeny(c.deny)})
`
  );
  const reason = await new Promise((resolve) => {
    const done = (why) => {
      clearInterval(watch);
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      tap.off("closed", done);
      resolve(why);
    };
    const watch = setInterval(() => {
      if (nsIdentity(nsFile) !== identity) done("the namespace is gone");
    }, WATCH_MS);
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
    tap.once("closed", done);
  });
  stack.close();
  tap.close();
  process.stderr.write(`vmm nat: stopped (${reason})
`);
  return 0;
}
function nsIdentity(file) {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return void 0;
  }
}
function configure(nsFile, dev, opts) {
  const c = opts.config;
  const ip = (...args) => {
    try {
      execFileSync("nsenter", [`--net=${nsFile}`, "ip", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
      const err = e;
      throw new Error(
        `--configure: 'ip ${args.join(" ")}' failed in ${nsFile}: ${err.stderr?.toString().trim() ?? String(e)}`
      );
    }
  };
  ip("link", "set", "lo", "up");
  ip("link", "set", dev, "mtu", String(c.mtu), "up");
  ip("addr", "replace", `${formatIpv4(c.guest)}/${c.prefixLength}`, "dev", dev);
  ip("route", "replace", "default", "via", formatIpv4(c.gateway), "dev", dev);
}
export {
  natCommand
};
//# sourceMappingURL=nat-AHFU24KE.js.map