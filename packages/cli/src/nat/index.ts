// `vmm nat`: creates a tap device inside a network namespace, optionally configures it, and serves
// it with @vmm/net until the namespace goes away or the process is signalled.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { formatIpv4, formatOutboundDeny, NatStack, TapDevice, withNetns } from '@vmm/net';
import { rateLimitedLog } from '@vmm/vmm';
import { NAT_HELP, parseNatArgs, type NatOptions } from './flags';

const WATCH_MS = 500;

export async function natCommand(argv: string[]): Promise<number> {
  const opts = parseNatArgs(argv);
  if (opts.help) {
    process.stdout.write(NAT_HELP);
    return 0;
  }
  const nsFile = /^\d+$/.test(opts.netns) ? `/proc/${opts.netns}/ns/net` : opts.netns;
  const identity = nsIdentity(nsFile);
  if (!identity)
    throw new Error(
      `network namespace ${nsFile} does not exist: create it (ip netns add NAME) or give a live PID`,
    );
  const tap = withNetns(opts.netns, () => new TapDevice(opts.tap));
  // What the guest made the NAT refuse or drop, one line per kind per 10 s.
  const log = rateLimitedLog((line) => process.stderr.write(`vmm nat: ${line}\n`));
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
    `vmm nat: serving ${tap.name} in ${nsFile} (guest ${formatIpv4(c.guest)}/${c.prefixLength}, gateway ${formatIpv4(c.gateway)}, dns ${formatIpv4(c.dns)}, mtu ${c.mtu}${c.hostLoopback ? ', host loopback on' : ''}, deny ${formatOutboundDeny(c.deny)})\n`,
  );
  const reason = await new Promise<string>((resolve) => {
    const done = (why: string) => {
      clearInterval(watch);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      tap.off('closed', done);
      resolve(why);
    };
    const watch = setInterval(() => {
      if (nsIdentity(nsFile) !== identity) done('the namespace is gone');
    }, WATCH_MS);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    tap.once('closed', done);
  });
  stack.close();
  tap.close();
  process.stderr.write(`vmm nat: stopped (${reason})\n`);
  return 0;
}

/** Device and inode of a namespace file: a new value (or undefined) means the namespace went away. */
function nsIdentity(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** Address, MTU, default route and link state inside the namespace, with iproute2 via nsenter. */
function configure(nsFile: string, dev: string, opts: NatOptions): void {
  const c = opts.config;
  const ip = (...args: string[]) => {
    try {
      execFileSync('nsenter', [`--net=${nsFile}`, 'ip', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: Buffer };
      throw new Error(
        `--configure: 'ip ${args.join(' ')}' failed in ${nsFile}: ${err.stderr?.toString().trim() ?? String(e)}`,
      );
    }
  };
  ip('link', 'set', 'lo', 'up');
  ip('link', 'set', dev, 'mtu', String(c.mtu), 'up');
  ip('addr', 'replace', `${formatIpv4(c.guest)}/${c.prefixLength}`, 'dev', dev);
  ip('route', 'replace', 'default', 'via', formatIpv4(c.gateway), 'dev', dev);
}
