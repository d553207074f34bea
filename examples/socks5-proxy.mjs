// A SOCKS5 proxy on the host whose connections are opened inside the guest: traffic leaves
// through the guest's network (its NIC on the userspace NAT here, a VPN in it in real use), names
// resolve there. No port forwarding: the proxy reaches the guest's agent over vsock.
//
//   node examples/socks5-proxy.mjs KERNEL INITRD [URL]
//   VMM_KERNEL=... VMM_INITRD=... node examples/socks5-proxy.mjs [URL]
//
// Without a URL it serves a page on the host's 127.0.0.1 and fetches it through the proxy at
// http://10.0.2.2:PORT/: the NAT's gateway address, which only the guest can reach. With one, it
// fetches that (e.g. https://example.com/, if the host is online). It uses curl as the client.
// KERNEL needs virtio-mmio, virtio-net and vsock; INITRD a shell and `ip` (busybox has both).
// VMM_CMDLINE replaces the kernel command line; VMM_SHOW_CONSOLE=1 copies the console to stderr.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { Vmm } from '@vmm/vmm';

const args = process.argv.slice(2);
const wanted = args.find((a) => a.includes('://'));
const [kernel = process.env.VMM_KERNEL, initrd = process.env.VMM_INITRD] = args.filter((a) => a !== wanted);
if (!kernel || !initrd) {
  console.error(
    'usage: node examples/socks5-proxy.mjs KERNEL INITRD [URL] (or set VMM_KERNEL and VMM_INITRD)',
  );
  process.exit(2);
}
// Child processes must run asynchronously: the VM runs in this very thread.
const run = promisify(execFile);

// Without a URL: a page on the host's loopback, for the guest to fetch at the gateway address.
const page = `hello from the host's loopback, fetched through the guest\n`;
const server = http.createServer((_req, res) => res.end(page));
let url = wanted;
if (!url) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  url = `http://10.0.2.2:${port}/`;
}

const vm = await Vmm.builder()
  .kernel(kernel)
  .initrd(initrd)
  .cmdline(process.env.VMM_CMDLINE ?? 'console=ttyS0')
  .memory('256M')
  .console({ capture: true })
  // A NIC on the userspace NAT (10.0.2.0/24, gateway and DNS at 10.0.2.2); hostLoopback lets the
  // guest reach the host's 127.0.0.1 at the gateway address.
  .net({ hostLoopback: true })
  .vsock({ cid: 3 })
  // Generous waits: a guest on hardware KVM is up in seconds, under software emulation in minutes.
  .start({ timeoutMs: 240_000, agentTimeoutMs: 240_000 });
if (process.env.VMM_SHOW_CONSOLE === '1') vm.on('console-line', (line) => console.error(`guest: ${line}`));

try {
  // The guest's network: static addresses here (the NAT serves DHCP too: `udhcpc -i eth0`).
  const up = await vm.exec([
    'sh',
    '-c',
    'ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 && ' +
      'echo nameserver 10.0.2.2 > /etc/resolv.conf',
  ]);
  if (up.code !== 0) throw new Error(`setting up eth0 in the guest failed: ${up.stderr.toString()}`);

  const proxy = await vm.socks5({ listen: '127.0.0.1:0' }); // { auth: { username, password } } for RFC 1929
  console.log(`SOCKS5 proxy on 127.0.0.1:${proxy.port}; fetching ${url} through it`);
  // socks5h: the name is resolved by the guest, not here.
  const { stdout } = await run('curl', [
    '-sS',
    '--fail',
    '--max-time',
    '60',
    '--proxy',
    `socks5h://127.0.0.1:${proxy.port}`,
    url,
  ]);
  process.stdout.write(stdout);
  if (!wanted && stdout !== page) throw new Error('the page fetched through the guest is not the one served');
  await proxy.close();

  const exit = await vm.shutdown({ graceMs: 120_000 });
  console.log(`guest exited: ${exit.outcome}`);
} finally {
  await vm.dispose();
  if (server.listening) server.close();
}
