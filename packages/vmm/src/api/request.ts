// One HTTP request (method, target, body bytes) to the call it asks for, or an ApiError saying
// what is wrong with it: unknown path 404, wrong method 405, a body where none is taken or none
// where one is needed 400, a body that is not UTF-8 JSON 400, a field we do not take 400. Pure
// and synchronous: the server (server.ts) reads the bytes, the fuzz target feeds random ones.
import type { VmConfig } from '../config';
import { DEFAULT_SETTINGS, vmConfigFromCh, type VmSettings } from './ch-config';
import { ApiError } from './errors';
import { API_ROOT, CH_ONLY_ENDPOINTS, ROUTES, isEndpoint, type Endpoint } from './routes';
import { restoreFromCh, snapshotFromCh, type RestoreRequest } from './snapshot-config';

export type ApiCall =
  | { endpoint: Exclude<Endpoint, 'vm.create' | 'vm.snapshot' | 'vm.restore'> }
  | { endpoint: 'vm.create'; config: VmConfig }
  | { endpoint: 'vm.snapshot'; destinationDir: string }
  | { endpoint: 'vm.restore'; restore: RestoreRequest };

export interface ParseOptions {
  /** What a created VM gets that the JSON cannot say (reboot on reset, host quirks, seccomp). */
  settings?: VmSettings;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The endpoint a request target names ("/api/v1/vm.boot?x" -> "vm.boot"; the query is not read). */
export function endpointOf(target: string): Endpoint {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const name = path.startsWith(API_ROOT) ? path.slice(API_ROOT.length) : undefined;
  if (name !== undefined && isEndpoint(name)) return name;
  const shown = JSON.stringify(path.length > 100 ? `${path.slice(0, 100)}...` : path);
  if (name !== undefined && CH_ONLY_ENDPOINTS.includes(name)) {
    throw new ApiError(
      404,
      'EAPIPATH',
      `${shown}: Cloud Hypervisor's ${name} is not implemented by vmm (see docs/openapi.yaml)`,
    );
  }
  throw new ApiError(
    404,
    'EAPIPATH',
    `no endpoint ${shown}: the API is under ${API_ROOT} (see docs/openapi.yaml)`,
  );
}

export function parseApiRequest(
  method: string,
  target: string,
  body: Uint8Array,
  options: ParseOptions = {},
): ApiCall {
  const endpoint = endpointOf(target);
  const route = ROUTES[endpoint];
  if (method !== route.method) {
    throw new ApiError(
      405,
      'EAPIMETHOD',
      `${endpoint} takes ${route.method}, not ${JSON.stringify(method.slice(0, 20))}`,
    );
  }
  if (route.body === 'none') {
    if (body.length > 0) throw new ApiError(400, 'EAPIBODY', `${endpoint} takes no body: send it empty`);
    return { endpoint } as ApiCall;
  }
  const json = parseJson(endpoint, body);
  switch (endpoint) {
    case 'vm.create':
      return { endpoint, config: vmConfigFromCh(json, options.settings ?? DEFAULT_SETTINGS) };
    case 'vm.snapshot':
      return { endpoint, destinationDir: snapshotFromCh(json) };
    case 'vm.restore':
      return { endpoint, restore: restoreFromCh(json) };
    default:
      throw new Error(`no body reader for ${endpoint}`);
  }
}

function parseJson(endpoint: Endpoint, body: Uint8Array): unknown {
  if (body.length === 0)
    throw new ApiError(400, 'EAPIBODY', `${endpoint} needs a JSON body (see docs/openapi.yaml)`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ApiError(400, 'EAPIJSON', `${endpoint}: the body is not UTF-8 text: send JSON`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, 'EAPIJSON', `${endpoint}: the body is not JSON (${(e as Error).message})`);
  }
}
