// The endpoints served under /api/v1, with Cloud Hypervisor's names and methods
// (cloud-hypervisor vmm/src/api/openapi/cloud-hypervisor.yaml, vmm/src/api/http/mod.rs): what
// each takes as a body. docs/openapi.yaml describes exactly these.

export const API_ROOT = '/api/v1/';

export type ApiMethod = 'GET' | 'PUT';

export interface Route {
  method: ApiMethod;
  /** 'none': a body is refused (400); 'json': a JSON body is required. */
  body: 'none' | 'json';
}

export const ROUTES = {
  'vmm.ping': { method: 'GET', body: 'none' },
  'vmm.shutdown': { method: 'PUT', body: 'none' },
  'vm.create': { method: 'PUT', body: 'json' },
  'vm.boot': { method: 'PUT', body: 'none' },
  'vm.info': { method: 'GET', body: 'none' },
  'vm.counters': { method: 'GET', body: 'none' },
  'vm.pause': { method: 'PUT', body: 'none' },
  'vm.resume': { method: 'PUT', body: 'none' },
  'vm.reboot': { method: 'PUT', body: 'none' },
  'vm.shutdown': { method: 'PUT', body: 'none' },
  'vm.power-button': { method: 'PUT', body: 'none' },
  'vm.delete': { method: 'PUT', body: 'none' },
  'vm.snapshot': { method: 'PUT', body: 'json' },
  'vm.restore': { method: 'PUT', body: 'json' },
} as const satisfies Record<string, Route>;

export type Endpoint = keyof typeof ROUTES;

export function isEndpoint(name: string): name is Endpoint {
  return Object.hasOwn(ROUTES, name);
}

/**
 * Cloud Hypervisor endpoints vmm does not serve (a 404 names them as such, so a ch-remote user
 * knows the call exists there and not here).
 */
export const CH_ONLY_ENDPOINTS: readonly string[] = [
  'vm.resize',
  'vm.resize-disk',
  'vm.resize-zone',
  'vm.add-device',
  'vm.remove-device',
  'vm.add-disk',
  'vm.add-fs',
  'vm.add-generic-vhost-user',
  'vm.add-pmem',
  'vm.add-net',
  'vm.add-vsock',
  'vm.add-vdpa',
  'vm.add-user-device',
  'vm.coredump',
  'vm.nmi',
  'vm.receive-migration',
  'vm.send-migration',
];
