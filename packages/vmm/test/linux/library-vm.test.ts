// Tier 4: the library's VM handle boots the test-vms Linux guest in this process (no CLI), one
// boot for every check: start() resolves while the kernel boots, console.waitFor sees VMM-READY,
// console input reaches the guest's shell and its answer comes back as console-line events; the
// guest agent, added to the initramfs by the library, runs commands over virtio-vsock (exit codes,
// a timeout kill) and copies 4 MiB each way; socat reaches the agent through Firecracker's Unix
// socket; curl through vm.socks5() reaches a name only the guest resolves, and the NAT gateway
// 10.0.2.2 (the host's loopback as the guest's NIC sees it, reachable only from inside the
// guest); a forward reaches a server in the guest; shutdown() has the agent power the guest off;
// no fd of this process is left open.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestCmdline, hostTscKhz } from '../../../../test-vms/src/kernel/cmdline';
import type * as VmmLibrary from '../../src/index';
import type { VmExit, VmState } from '../../src/index';
import {
  T_EXIT,
  T_STDIN_EOF,
  T_STDOUT,
  decodeHeader,
  encodeExec,
  encodeHeader,
  T_EXEC,
} from '../../src/agent/protocol';
import { kvmUsable } from '../support/kvm-available';
import { linuxGuestAssets } from '../support/linux-guest';

const canRun = kvmUsable('tier 4: the library VM handle with a Linux guest on /dev/kvm');
const BOOT_MS = 240_000;
const fds = () => fs.readdirSync('/proc/self/fd').length;
/** Clients run as child processes, asynchronously: the monitor serving them runs in this very thread. */
const run = promisify(execFile);
async function runWithInput(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'buffer', timeout: 60_000 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout),
    );
    child.stdin!.end(input);
  });
}

/**
 * The library as a user gets it: the built package when `pnpm test` built it (VMM_TEST_BUILT=1),
 * whose worker threads start from JavaScript; from the sources, each thread compiles its
 * TypeScript first, which under the nested-KVM VM's emulation takes longer than a boot.
 */
async function library(): Promise<typeof VmmLibrary> {
  if (process.env.VMM_TEST_BUILT === '1') {
    const built = new URL('../../dist/index.js', import.meta.url).href;
    return (await import(/* @vite-ignore */ built)) as typeof VmmLibrary;
  }
  return import('../../src/index');
}

describe.skipIf(!canRun)('the library VM handle with a Linux guest', () => {
  it(
    'start, waitFor VMM-READY, console input, the agent over vsock (exec, timeout, 4 MiB copies), socat through the Unix socket, SOCKS5 (a guest-only name, the NAT gateway) and a forward through the guest, shutdown, nothing left open',
    async () => {
      const assets = await linuxGuestAssets();
      const lib = await library();
      const { Vm, Vmm } = lib;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-lib-linux-'));
      const socket = path.join(dir, 'v.sock');
      // A page on the host's loopback: the guest reaches it at the NAT gateway 10.0.2.2
      // (hostLoopback), the host's own curl only through the guest.
      const hostPage = `host-page-${randomBytes(8).toString('hex')}\n`;
      const hostWeb = http.createServer((_req, res) => res.end(hostPage));
      await new Promise<void>((r) => hostWeb.listen(0, '127.0.0.1', () => r()));
      const hostWebPort = (hostWeb.address() as net.AddressInfo).port;
      const before = fds();
      const states: VmState[] = [];
      const exits: VmExit[] = [];
      const lines: string[] = [];
      const vm = await Vmm.builder()
        .kernel(assets.kernel)
        .initrd(assets.initrd)
        .cmdline(guestCmdline({ tscKhz: hostTscKhz() }))
        .cpus(2)
        .memory('256M')
        .console({ capture: true })
        .net({ hostLoopback: true })
        .vsock({ cid: 3, socket })
        .start({ timeoutMs: BOOT_MS, agentTimeoutMs: BOOT_MS });
      vm.on('state', (s) => states.push(s));
      vm.on('exit', (e) => exits.push(e));
      vm.on('console-line', (l) => lines.push(l));
      expect(vm.state).toBe('running');
      await vm.console.waitFor(/VMM-READY/, { timeoutMs: BOOT_MS });
      vm.console.write('echo "sum=$((40 + 2))"\n');
      await vm.console.waitFor(/sum=42\r?\n/, { timeoutMs: 60_000 });
      expect(lines).toContain('sum=42');
      // The agent, over vsock: exit codes, output apart, a timeout that kills.
      const ok = await vm.exec(['sh', '-c', 'echo out; echo err >&2; uname -s']);
      expect({ code: ok.code, out: ok.stdout.toString(), err: ok.stderr.toString() }).toEqual({
        code: 0,
        out: 'out\nLinux\n',
        err: 'err\n',
      });
      expect((await vm.exec(['sh', '-c', 'exit 3'])).code).toBe(3);
      const t0 = Date.now();
      const slow = await vm.exec(['sleep', '600'], { timeoutMs: 1000 });
      expect({ timedOut: slow.timedOut, signal: slow.signal }).toEqual({ timedOut: true, signal: 'SIGKILL' });
      expect(Date.now() - t0).toBeLessThan(60_000);
      // 4 MiB in and out again, intact.
      const payload = randomBytes(4 * 2 ** 20);
      const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
      fs.writeFileSync(path.join(dir, 'in.bin'), payload);
      await vm.copyIn(path.join(dir, 'in.bin'), '/tmp/payload.bin');
      const inGuest = await vm.exec(['sha256sum', '/tmp/payload.bin']);
      expect(inGuest.stdout.toString().split(' ')[0]).toBe(sha(payload));
      await vm.copyOut('/tmp/payload.bin', path.join(dir, 'out.bin'));
      expect(sha(fs.readFileSync(path.join(dir, 'out.bin')))).toBe(sha(payload));
      // socat through Firecracker's hybrid socket: CONNECT to the agent's port, one exec request.
      // shut-none: the agent takes a client's end of stream for a hang-up (and kills the command).
      const request = Buffer.concat([
        Buffer.from('CONNECT 1024\n'),
        frame(
          T_EXEC,
          encodeExec({ argv: ['echo', 'via-socat'], env: [], replaceEnv: false, cwd: '/', timeoutMs: 0 }),
        ),
        frame(T_STDIN_EOF, Buffer.alloc(0)),
      ]);
      const reply = await runWithInput(
        'socat',
        ['-t', '30', '-', `UNIX-CONNECT:${socket},shut-none`],
        request,
      );
      const nl = reply.indexOf(10);
      expect(reply.subarray(0, nl).toString()).toMatch(/^OK \d+$/);
      const frames = readFrames(reply.subarray(nl + 1));
      expect(Buffer.concat(frames.filter((f) => f.type === T_STDOUT).map((f) => f.payload)).toString()).toBe(
        'via-socat\n',
      );
      expect(frames.at(-1)?.type).toBe(T_EXIT);
      // SOCKS5 through the guest: a busybox httpd on the guest's loopback (this VM has no NIC),
      // reached by a name that only the guest's /etc/hosts knows: resolved in the guest.
      const served = await vm.exec([
        'sh',
        '-c',
        'ip link set lo up && echo "127.0.0.1 localhost guest-web" > /etc/hosts && mkdir -p /tmp/www && ' +
          'echo served-in-guest > /tmp/www/index.html && httpd -p 127.0.0.1:8080 -h /tmp/www',
      ]);
      expect(served.code).toBe(0);
      // Why a CONNECT failed, if one does: curl sees only the reply code.
      const connectErrors: string[] = [];
      const proxy = await vm.socks5({
        onConnectError: (target, e) =>
          connectErrors.push(`${target}: ${(e as { code?: string }).code} ${e.message}`),
      });
      const throughProxy = (url: string) =>
        curlThrough(proxy.port, url, 60).catch((e: Error) => {
          throw new Error(`${e.message}\nthe proxy's failed CONNECTs: ${connectErrors.join('; ') || 'none'}`);
        });
      const viaSocks = await throughProxy('http://guest-web:8080/index.html');
      expect(viaSocks).toBe('served-in-guest\n');
      // The guest's NIC up by hand (as udhcpc would set it), then curl through the proxy to the
      // NAT gateway: the agent's connection leaves through the guest's eth0 and the NAT.
      const eth0 = await vm.exec([
        'sh',
        '-c',
        'ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2',
      ]);
      expect({ code: eth0.code, err: eth0.stderr.toString() }).toEqual({ code: 0, err: '' });
      const viaGateway = await throughProxy(`http://10.0.2.2:${hostWebPort}/`);
      expect(viaGateway).toBe(hostPage);
      const fwd = await vm.forward({ guestPort: 8080 });
      const viaForward = (
        await run('curl', ['-sS', '--max-time', '60', `http://127.0.0.1:${fwd.port}/index.html`], {
          encoding: 'utf8',
        })
      ).stdout;
      expect(viaForward).toBe('served-in-guest\n');
      // A snapshot with its NIC and vsock, for the restore below.
      const snap = path.join(dir, 'snap');
      await vm.pause();
      await vm.snapshot(snap);
      await vm.resume();
      expect((await vm.exec(['true'])).code).toBe(0); // it runs on after the snapshot
      // shutdown(): the agent syncs and powers the guest off.
      void vm.shutdown({ graceMs: 120_000 });
      const exit = await vm.exited;
      expect(exit).toEqual({ outcome: 'poweroff', exitCode: 0, reboots: 0 });
      expect(exits).toEqual([exit]);
      expect(states.at(-1)).toBe('stopped');
      await vm.dispose();
      // Worker threads' own loops close as they exit: give them a moment, then count. The pool's
      // idle threads are the pool's, not the VM's: released first.
      await lib.releaseWarmThreads();
      for (let i = 0; i < 50 && fds() !== before; i++) await new Promise((r) => setTimeout(r, 100));
      expect(fds()).toBe(before);
      expect(fs.existsSync(socket)).toBe(false); // the socket went with the VM

      // Restored (in this process, the first VM gone): its vsock connections were reset by
      // TRANSPORT_RESET and the agent's listener stayed, so exec answers; the NIC reaches the host
      // through a fresh NAT; the Unix socket is back. Restored with prefault: the pages the device
      // threads and the vCPU touch first were copied in by the restore, not faulted in.
      const back = await Vm.restore(snap, { agentTimeoutMs: 120_000, prefault: true });
      try {
        expect(back.state).toBe('paused');
        await back.resume();
        const again = await back.exec(['sh', '-c', 'echo back-$((6*7))'], { timeoutMs: 120_000 });
        expect([again.code, again.stdout.toString()]).toEqual([0, 'back-42\n']);
        expect(fs.existsSync(socket)).toBe(true);
        const proxyBack = await back.socks5();
        const viaRestored = await curlThrough(proxyBack.port, `http://10.0.2.2:${hostWebPort}/`, 120);
        expect(viaRestored).toBe(hostPage);
      } finally {
        await back.dispose();
      }
      await new Promise<void>((r) => hostWeb.close(() => r()));
      fs.rmSync(dir, { recursive: true });
    },
    BOOT_MS + 360_000,
  );
});

/** curl's body for `url` fetched through the SOCKS5 proxy on `port`, names resolved by the proxy's far end. */
async function curlThrough(port: number, url: string, maxTimeS: number): Promise<string> {
  const args = ['-sS', '--max-time', String(maxTimeS), '--socks5-hostname', `127.0.0.1:${port}`, url];
  return (await run('curl', args, { encoding: 'utf8' })).stdout;
}

function frame(type: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeHeader(type, payload.length), payload]);
}

function readFrames(b: Buffer): { type: number; payload: Buffer }[] {
  const out: { type: number; payload: Buffer }[] = [];
  for (let at = 0; at + 8 <= b.length;) {
    const h = decodeHeader(b.subarray(at, at + 8));
    if (typeof h === 'string') throw new Error(`bad frame from the agent: ${h}`);
    out.push({ type: h.type, payload: b.subarray(at + 8, at + 8 + h.length) });
    at += 8 + h.length;
  }
  return out;
}
