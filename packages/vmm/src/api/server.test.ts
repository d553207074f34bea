// The REST API end to end on a real Unix socket with node:http clients: every endpoint, every
// error path, the limits, garbage and concurrent clients. The VMs behind the controller are
// stand-ins (test-support/stand-in-vm.ts): no VM can run in a unit test; packages/vmm/test/kvm/
// api.test.ts boots a real one. Every answer is checked against docs/openapi.yaml (api-harness.ts).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VmmError } from '@vmm/hypervisor';
import { ApiClient, ApiRequestError } from './client';
import type { VmExit } from '../library/vm';
import { codeOf, rawExchange, request, startHarness, type Harness } from './test-support/api-harness';
import { schema, validate } from './test-support/openapi';

const CONFIG = {
  payload: { kernel: '/boot/vmlinux', cmdline: 'console=ttyS0' },
  cpus: { boot_vcpus: 2, max_vcpus: 2 },
  memory: { size: 268435456 },
  serial: { mode: 'Off' },
};
const body = (v: unknown) => JSON.stringify(v);
/** The JSON body of a raw HTTP answer. */
const rawBody = (raw: string): unknown => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

let h: Harness;
const put = (endpoint: string, b?: string | Buffer) => request(h.socket, 'PUT', endpoint, b);
const get = (endpoint: string) => request(h.socket, 'GET', endpoint);
const stateOf = async () => ((await get('vm.info')).json as { state: string }).state;

describe('REST API server (VMs are stand-ins)', () => {
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('vmm.ping answers the version, pid and features', async () => {
    const a = await get('vmm.ping');
    expect(a.status).toBe(200);
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(a.json).toEqual({
      build_version: pkg.version,
      version: pkg.version,
      pid: process.pid,
      features: ['kvm'],
    });
  });

  it("walks Cloud Hypervisor's life cycle: create, boot, pause, resume, reboot, power button, shutdown, boot again, delete", async () => {
    expect((await get('vm.info')).status).toBe(404);
    expect(codeOf(await get('vm.info'))).toBe('EVMNOTCREATED');
    expect((await put('vm.boot')).status).toBe(404);
    expect((await put('vm.create', body(CONFIG))).status).toBe(204);
    const again = await put('vm.create', body(CONFIG));
    expect([again.status, codeOf(again)]).toEqual([409, 'EVMEXISTS']);

    const info = await get('vm.info');
    expect(info.json).toEqual({
      config: { ...CONFIG, cpus: { ...CONFIG.cpus, nested: false }, console: { mode: 'Off' } },
      state: 'Created',
      memory_actual_size: 268435456,
    });
    expect((await get('vm.counters')).status).toBe(409);
    for (const e of ['vm.pause', 'vm.resume', 'vm.reboot', 'vm.shutdown', 'vm.power-button'])
      expect([e, (await put(e)).status]).toEqual([e, 409]);

    expect((await put('vm.boot')).status).toBe(204);
    expect(h.booted[0]).toMatchObject({
      kernel: '/boot/vmlinux',
      cpus: { boot: 2 },
      memory: { size: 268435456 },
    });
    expect(await stateOf()).toBe('Running');
    expect(codeOf(await put('vm.boot'))).toBe('EVMSTATE');
    expect((await put('vm.resume')).status).toBe(409);

    expect((await put('vm.pause')).status).toBe(204);
    expect(await stateOf()).toBe('Paused');
    const twice = await put('vm.pause');
    expect([twice.status, codeOf(twice)]).toEqual([409, 'EVMSTATE']);
    expect((await put('vm.power-button')).status).toBe(409);
    expect((await put('vm.reboot')).status).toBe(204); // a paused VM may be reset
    expect(await stateOf()).toBe('Running');
    expect((await put('vm.pause')).status).toBe(204);
    expect((await put('vm.resume')).status).toBe(204);
    expect((await put('vm.power-button')).status).toBe(204);
    expect(h.vms[0]!.calls).toEqual(['pause', 'reboot', 'pause', 'resume', 'powerButton']);

    const counters = await get('vm.counters');
    expect(counters.json).toEqual({
      blk0: { requests: 3, bytesRead: 4096, needs_reset: 0 },
      kvm: { pages_4k: 12 },
      vcpu0: { exits: 5, halt_exits: 1 },
      vcpu1: { exits: 7, halt_exits: 2 },
    });

    expect((await put('vm.shutdown')).status).toBe(204);
    expect(h.vms[0]!.calls.at(-1)).toBe('shutdown 10000');
    expect(await stateOf()).toBe('Shutdown');
    expect((await put('vm.shutdown')).status).toBe(409);
    expect((await get('vm.counters')).status).toBe(200); // the ended VM's last counters

    expect((await put('vm.boot')).status).toBe(204);
    expect(h.vms).toHaveLength(2);
    expect(await stateOf()).toBe('Running');
    expect((await put('vm.delete')).status).toBe(204);
    expect(h.vms[1]!.calls).toEqual(['stop']);
    expect((await get('vm.info')).status).toBe(404);
    expect((await put('vm.delete')).status).toBe(204); // nothing created is fine, as Cloud Hypervisor
  });

  it("vm.create takes paths relative to the server's working directory, and keeps them absolute", async () => {
    const relative = { ...CONFIG, payload: { kernel: 'k/vmlinux' }, disks: [{ path: 'disk.img' }] };
    expect((await put('vm.create', body(relative))).status).toBe(204);
    const { config } = (await get('vm.info')).json as { config: typeof relative };
    expect(config.payload.kernel).toBe(path.resolve('k/vmlinux'));
    expect(config.disks[0]!.path).toBe(path.resolve('disk.img'));
    expect((await put('vm.boot')).status).toBe(204);
    expect(h.booted.at(-1)).toMatchObject({
      kernel: path.resolve('k/vmlinux'),
      disks: [{ path: path.resolve('disk.img') }],
    });
    expect((await put('vm.delete')).status).toBe(204);
  });

  it('vm.snapshot and vm.restore check their bodies and the state, then snapshot and restore (stand-in VMs)', async () => {
    const snap = body({ destination_url: 'file:///var/snap' });
    expect((await put('vm.snapshot', snap)).status).toBe(404);
    await put('vm.create', body(CONFIG));
    expect((await put('vm.snapshot', snap)).status).toBe(409);
    await put('vm.boot');
    expect(codeOf(await put('vm.snapshot', snap))).toBe('EVMSTATE'); // it must be paused first
    await put('vm.pause');
    expect((await put('vm.snapshot', snap)).status).toBe(204);
    expect(h.vms[0]!.snapshots).toEqual(['/var/snap']);
    expect(await stateOf()).toBe('Paused');
    const restore = body({ source_url: 'file:///var/snap', resume: true });
    expect([(await put('vm.restore', restore)).status, codeOf(await put('vm.restore', restore))]).toEqual([
      409,
      'EVMEXISTS',
    ]);
    await put('vm.delete');
    const missing = await put('vm.restore', body({ source_url: 'file:///var/none' }));
    expect([missing.status, codeOf(missing)]).toEqual([400, 'ESNAPSHOTMISSING']);
    expect((await get('vm.info')).status).toBe(404); // nothing created by a failed restore
    expect((await put('vm.restore', body({ source_url: 'file:///var/snap' }))).status).toBe(204);
    expect(await stateOf()).toBe('Paused'); // as Cloud Hypervisor: restored paused
    expect((await get('vm.info')).status).toBe(200);
    await put('vm.delete');
    expect((await put('vm.restore', restore)).status).toBe(204);
    expect(await stateOf()).toBe('Running'); // resume: true
    await put('vm.delete');
    // Cloud Hypervisor's prefault is handed to the restore; the others were asked without it.
    const prefault = body({ source_url: 'file:///var/snap', prefault: true });
    expect((await put('vm.restore', prefault)).status).toBe(204);
    expect(h.restores.map((r) => r.prefault)).toEqual([false, false, false, true]);
    await put('vm.delete');
    const notBoolean = await put('vm.restore', body({ source_url: 'file:///var/snap', prefault: 'yes' }));
    expect([notBoolean.status, codeOf(notBoolean)]).toEqual([400, 'EAPIVALUE']);
    expect(h.restores).toHaveLength(4); // refused before any restore
    for (const bad of [
      { destination_url: 'http://host/x' },
      { destination_url: 'file://host/x' },
      { destination_url: '/var/snap' },
      { destination_url: 'file:///x?y' },
      { destination_url: 'file:///var/snap', compress: true },
      {},
    ]) {
      const a = await put('vm.snapshot', body(bad));
      expect([JSON.stringify(bad), a.status]).toEqual([JSON.stringify(bad), 400]);
    }
    expect(codeOf(await put('vm.restore', body({ source_url: 'file:///s', net_fds: [] })))).toBe('EAPIFIELD');
  });

  it('refuses what it does not take with a 4xx naming it, and changes nothing', async () => {
    await put('vm.create', body(CONFIG));
    await put('vm.boot');
    const before = (await get('vm.info')).body;
    const cases: [string, string, string | Buffer | undefined, number, string, RegExp?][] = [
      ['GET', '/api/v1/vm.frobnicate', undefined, 404, 'EAPIPATH', /no endpoint/],
      [
        'GET',
        '/api/v1/vm.resize',
        undefined,
        404,
        'EAPIPATH',
        /Cloud Hypervisor's vm.resize is not implemented/,
      ],
      ['GET', '/api/v2/vm.info', undefined, 404, 'EAPIPATH'],
      ['GET', '/', undefined, 404, 'EAPIPATH'],
      ['GET', '/api/v1/vm.pause', undefined, 405, 'EAPIMETHOD', /takes PUT/],
      ['PUT', '/api/v1/vm.info', undefined, 405, 'EAPIMETHOD'],
      ['DELETE', '/api/v1/vm.delete', undefined, 405, 'EAPIMETHOD'],
      ['POST', '/api/v1/vm.create', body(CONFIG), 405, 'EAPIMETHOD'],
      ['PUT', '/api/v1/vm.pause', '{}', 400, 'EAPIBODY', /takes no body/],
      ['GET', '/api/v1/vm.info', 'x', 400, 'EAPIBODY'],
      ['PUT', '/api/v1/vm.snapshot', undefined, 400, 'EAPIBODY', /needs a JSON body/],
      ['PUT', '/api/v1/vm.snapshot', '{"destination_url": ', 400, 'EAPIJSON'],
      ['PUT', '/api/v1/vm.snapshot', Buffer.from([0x7b, 0xff, 0x7d]), 400, 'EAPIJSON', /not UTF-8/],
      ['PUT', '/api/v1/vm.snapshot', '[]', 400, 'EAPIVALUE', /give a JSON object/],
    ];
    for (const [method, target, b, status, code, message] of cases) {
      const a = await request(h.socket, method, target, b);
      expect([method, target, a.status, codeOf(a)]).toEqual([method, target, status, code]);
      if (message) expect((a.json as { error: { message: string } }).error.message).toMatch(message);
      if (status === 405) expect(a.headers.allow).toMatch(/^(GET|PUT)$/);
    }
    expect((await get('vm.info')).body).toBe(before);
    expect(h.vms[0]!.calls).toEqual([]);
  });

  it('vm.create refuses Cloud Hypervisor fields it cannot honour, by name, and creates nothing', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{}, 'EAPIVALUE', /payload is required/],
      [{ payload: {} }, 'EAPIVALUE', /payload.kernel is required/],
      [{ payload: { kernel: '/k', firmware: '/f' } }, 'EAPIFIELD', /'payload.firmware' is not supported/],
      [{ ...CONFIG, balloon: { size: 1 } }, 'EAPIFIELD', /'balloon'/],
      [{ ...CONFIG, cpus: { boot_vcpus: 2, max_vcpus: 4 } }, 'EAPIVALUE', /no vCPU hotplug/],
      [
        { ...CONFIG, cpus: { boot_vcpus: 0 } },
        'EAPIVALUE',
        /cpus.boot_vcpus is number 0: give a whole number from 1 to 254/,
      ],
      [{ ...CONFIG, cpus: { boot_vcpus: 1.5 } }, 'EAPIVALUE', /boot_vcpus/],
      [{ ...CONFIG, cpus: { boot_vcpus: '2' } }, 'EAPIVALUE', /boot_vcpus is string "2"/],
      [{ ...CONFIG, cpus: { boot_vcpus: 1, topology: {} } }, 'EAPIFIELD', /cpus.topology/],
      [{ ...CONFIG, memory: { size: 0 } }, 'EAPIVALUE', /memory.size/],
      [{ ...CONFIG, memory: { size: 1 << 30, hugepages: false } }, 'EAPIFIELD', /memory.hugepages/],
      [{ ...CONFIG, disks: [{ path: '/d', direct: true }] }, 'EAPIFIELD', /'disks\[0\].direct'/],
      [{ ...CONFIG, disks: [{ readonly: true }] }, 'EAPIVALUE', /disks\[0\].path is required/],
      [{ ...CONFIG, disks: [{ path: '/d', serial: 'x'.repeat(21) }] }, 'EAPIVALUE', /longer than 20 bytes/],
      [{ ...CONFIG, disks: {} }, 'EAPIVALUE', /disks is an object: give an array/],
      [{ ...CONFIG, net: [{ ip: '192.168.1.1' }] }, 'EAPIFIELD', /net\[0\].ip/],
      [{ ...CONFIG, net: [{ mac: '01:00:00:00:00:01' }] }, 'EAPIVALUE', /multicast/],
      [{ ...CONFIG, net: [{ mtu: 100 }] }, 'EAPIVALUE', /net\[0\].mtu/],
      [{ ...CONFIG, rng: { src: '/dev/random' } }, 'EAPIVALUE', /rng.src/],
      [
        { ...CONFIG, serial: { mode: 'Pty' } },
        'EAPIVALUE',
        /serial.mode is 'Pty': vmm takes Off, Null, Tty or File/,
      ],
      [{ ...CONFIG, serial: { mode: 'File' } }, 'EAPIVALUE', /serial.file is required with mode File/],
      [{ ...CONFIG, serial: { mode: 'Tty', file: '/x' } }, 'EAPIVALUE', /serial.file is given with mode Tty/],
      [
        { ...CONFIG, serial: { mode: 'Tty' }, console: { mode: 'Tty' } },
        'EAPIVALUE',
        /only one can use the terminal/,
      ],
      [{ ...CONFIG, vsock: { cid: 2 } }, 'EAPIVALUE', /vsock.cid/],
      [{ ...CONFIG, vsock: { cid: 3, iommu: false } }, 'EAPIFIELD', /vsock.iommu/],
    ];
    for (const [config, code, message] of cases) {
      const a = await put('vm.create', body(config));
      expect([JSON.stringify(config), a.status, codeOf(a)]).toEqual([JSON.stringify(config), 400, code]);
      expect((a.json as { error: { message: string } }).error.message).toMatch(message);
      // The document refuses it too (semantic checks aside: hotplug, multicast, both Tty, field pairs).
      if (code === 'EAPIFIELD') expect(validate(schema('VmConfig'), config)).not.toEqual([]);
    }
    expect((await get('vm.info')).status).toBe(404);
  });

  it('a full config within the document is taken and comes back from vm.info as given', async () => {
    const full = {
      payload: { kernel: '/k', initramfs: '/i.cpio', cmdline: 'console=ttyS0 quiet' },
      cpus: { boot_vcpus: 4, max_vcpus: 4, nested: true },
      memory: { size: 1073741824 },
      disks: [
        { path: '/a.img', readonly: true, serial: 'root' },
        { path: '/b.img', readonly: false },
      ],
      net: [{ mac: '52:54:00:aa:bb:cc', mtu: 9000 }, { tap: 'tap7' }],
      rng: { src: '/dev/urandom' },
      serial: { mode: 'File', file: '/tmp/serial.log' },
      console: { mode: 'Tty' },
      vsock: { cid: 42, socket: '/tmp/vsock.sock' },
    };
    expect(validate(schema('VmConfig'), full)).toEqual([]);
    expect((await put('vm.create', body(full))).status).toBe(204);
    expect((await get('vm.info')).json).toMatchObject({ config: full, state: 'Created' });
    await put('vm.boot');
    expect(h.booted[0]).toMatchObject({
      kernel: '/k',
      initrd: '/i.cpio',
      cmdline: 'console=ttyS0 quiet',
      cpus: { boot: 4, nested: true },
      disks: [
        { path: '/a.img', readonly: true, serial: 'root' },
        { path: '/b.img', readonly: false },
      ],
      nets: [{ mac: '52:54:00:aa:bb:cc', mtu: 9000 }, { tap: 'tap7' }],
      rng: true,
      serial: { mode: 'file', path: '/tmp/serial.log' },
      console: { mode: 'tty' },
      vsock: { cid: 42, socket: '/tmp/vsock.sock', agent: false },
      noReboot: false,
      hostQuirks: 'auto',
      seccomp: 'on',
    });
  });

  it('mode Null (the device there, its output dropped) is taken for serial and console and comes back from vm.info', async () => {
    const nulls = { ...CONFIG, serial: { mode: 'Null' }, console: { mode: 'Null' } };
    expect(validate(schema('VmConfig'), nulls)).toEqual([]);
    expect((await put('vm.create', body(nulls))).status).toBe(204);
    expect((await get('vm.info')).json).toMatchObject({
      config: { serial: { mode: 'Null' }, console: { mode: 'Null' } },
    });
    await put('vm.boot');
    expect(h.booted[0]).toMatchObject({ serial: { mode: 'null' }, console: { mode: 'null' } });
  });

  it('a VM that does not boot is a 500 with the library code, and stays created', async () => {
    await h.close();
    h = await startHarness({
      start: async (config) => {
        throw new VmmError('EKERNEL', `kernel ${config.kernel} does not exist`);
      },
    });
    await put('vm.create', body(CONFIG));
    const a = await put('vm.boot');
    expect([a.status, codeOf(a)]).toEqual([500, 'EKERNEL']);
    expect((a.json as { error: { message: string } }).error.message).toMatch(
      /did not boot: kernel \/boot\/vmlinux does not exist/,
    );
    expect(await stateOf()).toBe('Created');
  });

  it("the library's errors keep their meaning: EVMSTATE 409, ENOTIMPL 501, others 500", async () => {
    await put('vm.create', body(CONFIG));
    await put('vm.boot');
    const vm = h.vms[0]!;
    vm.fail.set('pause', new VmmError('ENOTIMPL', 'pause is not implemented yet'));
    vm.fail.set('reboot', new VmmError('EVMSTATE', 'it ended meanwhile'));
    vm.fail.set('powerButton', new VmmError('EHYPERCALL', 'KVM_IRQ_LINE failed'));
    expect([
      (await put('vm.pause')).status,
      (await put('vm.reboot')).status,
      (await put('vm.power-button')).status,
    ]).toEqual([501, 409, 500]);
    expect(await stateOf()).toBe('Running');
  });

  it('a guest that powers off is a vm-exit not asked for; vm.shutdown is one asked for', async () => {
    const exits: [VmExit['outcome'], boolean][] = [];
    h.controller.on('vm-exit', (e, { requested }) => exits.push([e.outcome, requested]));
    await put('vm.create', body(CONFIG));
    await put('vm.boot');
    h.vms[0]!.powerOff();
    await h.vms[0]!.exited;
    await new Promise((r) => setImmediate(r));
    expect(await stateOf()).toBe('Shutdown');
    await put('vm.boot');
    await put('vm.shutdown');
    await new Promise((r) => setImmediate(r));
    expect(exits).toEqual([
      ['poweroff', false],
      ['poweroff', true],
    ]);
  });

  it('vmm.shutdown stops the VM, answers, closes the server and removes the socket', async () => {
    let shutdownEvents = 0;
    h.controller.on('vmm-shutdown', () => shutdownEvents++);
    await put('vm.create', body(CONFIG));
    await put('vm.boot');
    const a = await put('vmm.shutdown');
    expect(a.status).toBe(204);
    await h.server.closed;
    expect(h.vms[0]!.calls).toEqual(['stop']);
    expect(shutdownEvents).toBe(1);
    expect(fs.existsSync(h.socket)).toBe(false);
    await expect(new ApiClient(h.socket).call('vmm.ping')).rejects.toMatchObject({ code: 'EAPISOCKET' });
  });

  it('operations queued after vmm.shutdown get 503 and change nothing', async () => {
    await put('vm.create', body(CONFIG));
    const [shut, boot] = await Promise.all([put('vmm.shutdown'), put('vm.boot')]);
    expect(shut.status).toBe(204);
    expect([boot.status, codeOf(boot)]).toEqual([503, 'ESHUTDOWN']);
    expect(h.vms).toHaveLength(0);
  });
});

describe('REST API server limits (VMs are stand-ins)', () => {
  beforeEach(async () => {
    h = await startHarness({ headersTimeoutMs: 400, requestTimeoutMs: 800 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('the socket is a socket of mode 0600, and nothing is left beside it', async () => {
    const st = fs.lstatSync(h.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(h.dir)).toEqual(['api.sock']);
  });

  it('a stale socket is replaced; a live one, or a file that is not a socket, is refused', async () => {
    const { ApiServer } = await import('./server');
    const controller = h.controller;
    // Live: this harness's own socket.
    await expect(ApiServer.listen({ path: h.socket, controller })).rejects.toMatchObject({
      code: 'EAPISOCKET',
      message: expect.stringMatching(/another process listens there/),
    });
    const file = `${h.dir}/file`;
    fs.writeFileSync(file, 'x');
    await expect(ApiServer.listen({ path: file, controller })).rejects.toThrow(/not a socket/);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
    // Stale: a socket whose listener is gone (its file kept by a hard link across the close).
    const stale = `${h.dir}/stale.sock`;
    const gone = net.createServer();
    await new Promise<void>((r) => gone.listen(stale, () => r()));
    fs.linkSync(stale, `${stale}.keep`);
    await new Promise<void>((r) => gone.close(() => r()));
    fs.renameSync(`${stale}.keep`, stale);
    const s = await ApiServer.listen({ path: stale, controller });
    expect((await request(stale, 'GET', 'vmm.ping')).status).toBe(200);
    expect(fs.statSync(stale).mode & 0o777).toBe(0o600);
    await s.close();
    expect(fs.existsSync(stale)).toBe(false);
  });

  it('a body over 1 MiB is a 413, declared or chunked; one just within is read', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    const declared = await request(h.socket, 'PUT', 'vm.create', big);
    expect([declared.status, codeOf(declared)]).toEqual([413, 'EAPITOOLARGE']);
    const chunked = await request(h.socket, 'PUT', 'vm.create', big, { 'transfer-encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    const within = Buffer.alloc(1024 * 1024, 0x20);
    within.write(body(CONFIG));
    expect((await request(h.socket, 'PUT', 'vm.create', within)).status).toBe(204);
  });

  it('headers over 8 KiB are a 431; bytes that are not HTTP a 400; both close the connection', async () => {
    const huge = await rawExchange(
      h.socket,
      `GET /api/v1/vmm.ping HTTP/1.1\r\nx-big: ${'a'.repeat(9000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1.1 431 /);
    expect(rawBody(huge)).toMatchObject({ error: { code: 'EAPIHEADERS' } });
    expect(validate(schema('ErrorResponse'), rawBody(huge))).toEqual([]);
    const junk = await rawExchange(h.socket, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(junk).toMatch(/^HTTP\/1.1 400 /);
    expect(rawBody(junk)).toMatchObject({ error: { code: 'EAPIHTTP' } });
    expect(validate(schema('ErrorResponse'), rawBody(junk))).toEqual([]);
  });

  it('a client that stops sending is answered 408 and dropped; the server goes on', async () => {
    const t0 = Date.now();
    const partialHeaders = await rawExchange(h.socket, 'GET /api/v1/vmm.ping HTTP/1.1\r\nhost: x\r\n');
    const partialBody = await rawExchange(
      h.socket,
      'PUT /api/v1/vm.create HTTP/1.1\r\ncontent-length: 100\r\n\r\n{"payload"',
    );
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(partialHeaders).toMatch(/^HTTP\/1.1 408 /);
    expect(partialBody).toMatch(/^HTTP\/1.1 408 /);
    expect((await get('vmm.ping')).status).toBe(200);
  });

  it('random bytes from many clients at once neither crash nor stall it', async () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const garbage = Array.from({ length: 60 }, (_, i) => {
      const bytes = Buffer.from(Array.from({ length: 1 + ((i * 37) % 700) }, rnd));
      // Half of them look like a request line first.
      return i % 2
        ? Buffer.concat([
            Buffer.from(`PUT /api/v1/vm.create HTTP/1.1\r\ncontent-length: ${bytes.length}\r\n\r\n`),
            bytes,
          ])
        : bytes;
    });
    const answers = await Promise.all(garbage.map((g) => rawExchange(h.socket, g, { endAfterWrite: true })));
    for (const a of answers) {
      if (a === '') continue; // closed without a word: a request cut short by the client's end
      expect(a).toMatch(/^HTTP\/1.1 4\d\d /);
      expect(validate(schema('ErrorResponse'), rawBody(a))).toEqual([]);
    }
    expect((await get('vmm.ping')).status).toBe(200);
    expect((await get('vm.info')).status).toBe(404);
  });

  it('concurrent clients are each answered, and changes are made one at a time', async () => {
    await h.close();
    h = await startHarness({ bootMs: 30 });
    await put('vm.create', body(CONFIG));
    const boots = await Promise.all([put('vm.boot'), put('vm.boot'), put('vm.boot')]);
    expect(boots.map((b) => b.status).sort()).toEqual([204, 409, 409]);
    expect(h.vms).toHaveLength(1);
    const vm = h.vms[0]!;
    vm.delayMs = 20; // a pause takes a while: the others arrive meanwhile
    const pauses = await Promise.all(Array.from({ length: 8 }, () => put('vm.pause')));
    expect(pauses.map((p) => p.status).sort()).toEqual([204, 409, 409, 409, 409, 409, 409, 409]);
    expect(vm.calls).toEqual(['pause']);
    vm.delayMs = 1;
    const mixed = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0 ? get('vmm.ping') : i % 3 === 1 ? get('vm.info') : put(i % 2 ? 'vm.pause' : 'vm.resume'),
      ),
    );
    for (const a of mixed) expect([200, 204, 409]).toContain(a.status);
    // The VM was never asked to pause a paused VM or resume a running one.
    expect(vm.calls.join(' ')).not.toMatch(/(pause pause|resume resume)/);
    expect(vm.calls.length).toBe(1 + mixed.filter((a, i) => i % 3 === 2 && a.status === 204).length);
  });

  it('the client: an error answer is an ApiRequestError with status and code', async () => {
    const client = new ApiClient(h.socket);
    expect(await client.call('vmm.ping')).toMatchObject({ pid: process.pid });
    const e = await client.call('vm.boot').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiRequestError);
    expect(e).toMatchObject({ status: 404, code: 'EVMNOTCREATED' });
    expect(await client.call('vm.create', CONFIG)).toBeUndefined();
    expect(await client.call('vm.info')).toMatchObject({ state: 'Created' });
  });
});
