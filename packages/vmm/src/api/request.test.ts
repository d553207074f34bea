// parseApiRequest and the body readers without a socket: routing, Cloud Hypervisor's VmConfig to
// ours and back, the snapshot URLs.
import { describe, expect, it } from 'vitest';
import { vmConfigFromCh, vmConfigToCh } from './ch-config';
import { ApiError } from './errors';
import { endpointOf, parseApiRequest } from './request';
import { ROUTES } from './routes';
import { operationOf, spec } from './test-support/openapi';

const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const refusal = (f: () => unknown): ApiError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('not refused');
};

describe('REST API requests', () => {
  it('serves exactly the endpoints docs/openapi.yaml declares, with its methods', () => {
    for (const [endpoint, route] of Object.entries(ROUTES)) {
      expect(operationOf(endpoint)?.method, endpoint).toBe(route.method);
      expect(Boolean(operationOf(endpoint)?.op.requestBody), endpoint).toBe(route.body === 'json');
    }
    expect(Object.keys(spec.paths).sort()).toEqual(
      Object.keys(ROUTES)
        .map((e) => `/${e}`)
        .sort(),
    );
  });

  it('routes by path only (a query is not read), under /api/v1/ only', () => {
    expect(endpointOf('/api/v1/vm.info?verbose=1')).toBe('vm.info');
    expect(refusal(() => endpointOf('/api/v1/vm.info/')).status).toBe(404);
    expect(refusal(() => endpointOf('/api/v1/hasOwnProperty')).status).toBe(404);
    expect(refusal(() => endpointOf('/api/v1/__proto__')).status).toBe(404);
    expect(refusal(() => endpointOf('api/v1/vm.info')).status).toBe(404);
    expect(refusal(() => endpointOf(`/${'x'.repeat(5000)}`)).message.length).toBeLessThan(300);
  });

  it("maps Cloud Hypervisor's VmConfig to ours, with our defaults and the server's settings", () => {
    const config = vmConfigFromCh(
      { payload: { kernel: '/k' }, cpus: { boot_vcpus: 3 }, memory: { size: 2 ** 30 }, net: [{}], rng: {} },
      { noReboot: true, hostQuirks: 'off', seccomp: 'log' },
    );
    expect(config).toEqual({
      kernel: '/k',
      cmdline: '',
      cpus: { boot: 3 },
      memory: { size: 2 ** 30 },
      serial: { mode: 'tty' },
      nets: [{}],
      rng: true,
      noReboot: true,
      hostQuirks: 'off',
      seccomp: 'log',
    });
    // vm.info's form is taken back as it is.
    const ch = vmConfigToCh(config);
    expect(vmConfigToCh(vmConfigFromCh(ch, config))).toEqual(ch);
  });

  it('null is an absent field, as serde reads an Option; a required one stays required', () => {
    const config = vmConfigFromCh({ payload: { kernel: '/k', initramfs: null }, cpus: null, vsock: null });
    expect(config.initrd).toBeUndefined();
    expect(config.cpus.boot).toBe(1);
    expect(refusal(() => vmConfigFromCh({ payload: { kernel: null } })).message).toMatch(
      /payload.kernel is required/,
    );
  });

  it("refuses Cloud Hypervisor's fs (a vhost-user socket), pointing at --fs and .share()", () => {
    const e = refusal(() => vmConfigFromCh({ payload: { kernel: '/k' }, fs: [{ tag: 't', socket: '/s' }] }));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/--fs tag=NAME,path=DIR.*\.share\(/);
  });

  it("an own field named like Object's is refused by name, not taken from the prototype", () => {
    const e = refusal(() =>
      parseApiRequest(
        'PUT',
        '/api/v1/vm.create',
        Buffer.from('{"payload":{"kernel":"/k"},"__proto__":{"x":1}}'),
      ),
    );
    expect([e.status, e.code]).toEqual([400, 'EAPIFIELD']);
    expect(e.message).toMatch(/'__proto__'/);
  });

  it('reads file:// URLs of snapshot directories, percent-encoding included', () => {
    expect(
      parseApiRequest('PUT', '/api/v1/vm.snapshot', bytes({ destination_url: 'file:///var/snap%20one' })),
    ).toEqual({
      endpoint: 'vm.snapshot',
      destinationDir: '/var/snap one',
    });
    expect(parseApiRequest('PUT', '/api/v1/vm.restore', bytes({ source_url: 'file:///s' }))).toEqual({
      endpoint: 'vm.restore',
      restore: { sourceDir: '/s', resume: false, prefault: false },
    });
    for (const url of ['file:///a%00b', 'file:relative', 'ftp:///x', 'file:///x#frag', ''])
      expect([
        url,
        refusal(() => parseApiRequest('PUT', '/api/v1/vm.snapshot', bytes({ destination_url: url }))).status,
      ]).toEqual([url, 400]);
  });
});
