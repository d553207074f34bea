// Fuzz target: what a client of the REST API sends (untrusted: any local process that can open the
// socket). Input: "METHOD TARGET\n" then the body bytes, through parseApiRequest (routing, the
// method, UTF-8 and JSON, Cloud Hypervisor's VmConfig and the snapshot bodies). node:http does the
// HTTP framing before this; server.test.ts sends it garbage on a real socket. Contract: nothing
// throws but an ApiError with a 4xx status; a VmConfig that is taken is within the machine's
// limits, and vm.info's form of it (vmConfigToCh) is taken back unchanged.
import { MAX_VCPUS } from '../config';
import { vmConfigFromCh, vmConfigToCh } from './ch-config';
import { ApiError } from './errors';
import { parseApiRequest } from './request';

export function fuzz(data: Uint8Array): void {
  const nl = data.indexOf(0x0a);
  const head = Buffer.from(data.buffer, data.byteOffset, nl < 0 ? data.length : nl).toString('latin1');
  const body = nl < 0 ? new Uint8Array(0) : data.subarray(nl + 1);
  const sp = head.indexOf(' ');
  const method = sp < 0 ? head : head.slice(0, sp);
  const target = sp < 0 ? '' : head.slice(sp + 1);
  let call;
  try {
    call = parseApiRequest(method, target, body);
  } catch (e) {
    if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.message.length > 0) return;
    throw e;
  }
  if (call.endpoint !== 'vm.create') return;
  const c = call.config;
  if (!(Number.isInteger(c.cpus.boot) && c.cpus.boot >= 1 && c.cpus.boot <= MAX_VCPUS))
    throw new Error(`contract: ${c.cpus.boot} vCPUs taken`);
  if (!(Number.isSafeInteger(c.memory.size) && c.memory.size > 0))
    throw new Error(`contract: memory size ${c.memory.size} taken`);
  if (c.kernel === '') throw new Error('contract: an empty kernel path taken');
  const again = vmConfigFromCh(JSON.parse(JSON.stringify(vmConfigToCh(c))));
  if (JSON.stringify(vmConfigToCh(again)) !== JSON.stringify(vmConfigToCh(c)))
    throw new Error('contract: vm.info form of a taken config is not taken back unchanged');
}

export const maxLength = 4096;

const request = (method: string, endpoint: string, body?: unknown) =>
  Buffer.from(`${method} /api/v1/${endpoint}\n${body === undefined ? '' : JSON.stringify(body)}`);

export function seeds(): Uint8Array[] {
  return [
    request('PUT', 'vm.create', {
      payload: { kernel: '/k', initramfs: '/i', cmdline: 'console=ttyS0' },
      cpus: { boot_vcpus: 2, max_vcpus: 2 },
      memory: { size: 536870912 },
      disks: [{ path: '/d.img', readonly: true, serial: 'disk0' }],
      net: [{ mac: '52:54:00:12:34:56', mtu: 1500 }, { tap: 'tap0' }],
      rng: { src: '/dev/urandom' },
      serial: { mode: 'File', file: '/tmp/serial' },
      console: { mode: 'Off' },
      vsock: { cid: 3, socket: '/tmp/v.sock' },
    }),
    request('PUT', 'vm.create', {
      payload: { kernel: '/k' },
      serial: { mode: 'Tty' },
      console: { mode: 'Tty' },
    }),
    request('PUT', 'vm.snapshot', { destination_url: 'file:///var/snap' }),
    request('PUT', 'vm.restore', { source_url: 'file:///var/snap', resume: true }),
    request('GET', 'vm.info'),
    request('PUT', 'vm.boot'),
    request('GET', 'vm.pause'),
    Buffer.from('PUT /api/v1/vm.create\n{"payload":{"kernel":"/k"},"cpus":{"boot_vcpus":1,"max_vcpus":2}}'),
    Buffer.from('PUT /api/v1/vm.resize\n{}'),
  ];
}
