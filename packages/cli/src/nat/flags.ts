// `vmm nat` command line: flags to a NAT configuration, every mistake a UsageError that says what
// to write instead.
import {
  defaultConfig,
  parseDnsUpstream,
  parseHostForward,
  parseOutboundDeny,
  MAX_MTU,
  MIN_MTU,
  type NetConfig,
} from '@vmm/net';
import { parseFlags } from '../args/argv';
import { UsageError } from '../args/errors';

export const NAT_HELP = `Usage: vmm nat --netns PATH|PID [options]

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

export interface NatOptions {
  netns: string;
  tap: string;
  configure: boolean;
  config: NetConfig;
  help: boolean;
}

export function parseNatArgs(argv: readonly string[]): NatOptions {
  const { flags, positionals } = parseFlags(argv, {
    netns: { value: true },
    tap: { value: true },
    mtu: { value: true },
    configure: { value: false },
    hostfwd: { value: true, repeat: true },
    'host-loopback': { value: false },
    dns: { value: true },
    deny: { value: true },
    help: { value: false },
  });
  if (flags.has('help')) return { netns: '', tap: '', configure: false, config: defaultConfig(), help: true };
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument '${positionals[0]}' (vmm nat takes only flags; see vmm nat --help)`,
    );
  const netns = flags.get('netns')?.[0];
  if (!netns)
    throw new UsageError('vmm nat needs --netns PATH|PID (for example --netns /var/run/netns/NAME)');
  const tap = flags.get('tap')?.[0] ?? 'tap0';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tap))
    throw new UsageError(`--tap '${tap}' is not a device name: use 1 to 15 letters, digits, '_', '.', '-'`);
  const mtuText = flags.get('mtu')?.[0] ?? '1500';
  const mtu = Number(mtuText);
  if (!/^\d+$/.test(mtuText) || mtu < MIN_MTU || mtu > MAX_MTU)
    throw new UsageError(`--mtu ${mtuText} is out of range: use ${MIN_MTU} to ${MAX_MTU}`);
  try {
    const hostForwards = (flags.get('hostfwd') ?? []).map(parseHostForward);
    const dns = flags.get('dns')?.[0];
    const deny = flags.get('deny')?.[0];
    const config = defaultConfig({
      mtu,
      hostForwards,
      hostLoopback: flags.has('host-loopback'),
      ...(dns ? { dnsUpstream: parseDnsUpstream(dns) } : {}),
      ...(deny ? { deny: parseOutboundDeny(deny) } : {}),
    });
    return { netns, tap, configure: flags.has('configure'), config, help: false };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
