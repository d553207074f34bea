// Cloud Hypervisor's REST API on a Unix socket: the server, the controller behind it, a client.
export { ApiServer, MAX_BODY_BYTES, type ApiServerOptions } from './server';
export {
  ApiController,
  type ApiControllerOptions,
  type ApiControllerEvents,
  type VmController,
  type VmHandle,
  type VmInfo,
  type VmmPing,
  type ChVmState,
} from './controller';
export { ApiClient, ApiRequestError, type ApiClientOptions } from './client';
export { ApiError, type ApiErrorBody } from './errors';
export {
  vmConfigFromCh,
  vmConfigToCh,
  DEFAULT_SETTINGS,
  type ChVmConfig,
  type ChConsoleConfig,
  type VmSettings,
} from './ch-config';
export type { ChCounters } from './ch-counters';
export { parseApiRequest, type ApiCall } from './request';
export { restoreFromCh, type RestoreRequest } from './snapshot-config';
export { API_ROOT, ROUTES, type Endpoint } from './routes';
