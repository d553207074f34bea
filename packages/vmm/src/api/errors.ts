// The REST API's errors: a VmmError with the HTTP status it is answered with. The body is
// `{ "error": { "code": "...", "message": "..." } }` (docs/rest-api.md says why not Cloud
// Hypervisor's array of messages).
import { VmmError } from '@vmm/hypervisor';

export class ApiError extends VmmError {
  constructor(
    /** The HTTP status code (4xx: the request; 5xx: the server or the VM could not do it). */
    readonly status: number,
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The JSON body of every error answer (docs/openapi.yaml, ErrorResponse). */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

export function errorBody(e: { code: string; message: string }): ApiErrorBody {
  return { error: { code: e.code, message: e.message } };
}

/**
 * What a VM operation threw, as an answer: an ApiError as it is; the library's state errors
 * (EVMSTATE) are 409, what is not implemented yet (ENOTIMPL) 501, any other VmmError 500 with its
 * own code; anything else 500 EINTERNAL.
 */
/**
 * The library's error codes that are the request's fault (400: a snapshot that cannot be restored)
 * or the state's (409); the rest are 500.
 */
const STATUS_OF: Record<string, number> = {
  EVMSTATE: 409,
  ENOTIMPL: 501,
  ESNAPSHOTEXISTS: 409,
  ESNAPSHOTDIR: 400,
  ESNAPSHOTUNSUPPORTED: 409,
  ESNAPSHOTMISSING: 400,
  ESNAPSHOTCORRUPT: 400,
  ESNAPSHOTVERSION: 400,
  ESNAPSHOTMISMATCH: 400,
  ESTATEMAGIC: 400,
  ESTATEVERSION: 400,
  ESTATEARCH: 400,
  ESTATETRUNCATED: 400,
  ESTATECORRUPT: 400,
};

export function toApiError(e: unknown, what: string): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof VmmError) {
    const status = STATUS_OF[e.code] ?? 500;
    return new ApiError(status, e.code, `${what}: ${e.message}`, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ApiError(500, 'EINTERNAL', `${what}: ${message}`, { cause: e });
}
