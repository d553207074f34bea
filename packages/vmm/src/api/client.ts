// A client of the REST API on its Unix socket (what `vmm remote` uses): one request per
// connection, JSON in and out. An answer other than 2xx is an ApiRequestError carrying the
// server's status, code and message.
import fs from 'node:fs';
import type http from 'node:http';
import { VmmError } from '@vmm/hypervisor';
import { API_ROOT, ROUTES, type Endpoint } from './routes';

/** Answers larger than this are cut off with an error (a vm.info is a few KiB). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export class ApiRequestError extends VmmError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

export interface ApiClientOptions {
  /** Give up on an answer after this long (default: wait as long as it takes, as ch-remote). */
  timeoutMs?: number;
}

export class ApiClient {
  constructor(
    readonly socketPath: string,
    private readonly options: ApiClientOptions = {},
  ) {}

  /**
   * Call `endpoint` with its method (routes.ts); `body` is sent as JSON (a string as it is).
   * Resolves to the answer's JSON body (undefined for 204); rejects with ApiRequestError for
   * a 4xx/5xx answer, VmmError EAPISOCKET when the server cannot be reached.
   */
  async call(endpoint: Endpoint, body?: unknown): Promise<unknown> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const answer = await this.request(ROUTES[endpoint].method, `${API_ROOT}${endpoint}`, text);
    let json: unknown;
    if (answer.body.length > 0) {
      try {
        json = JSON.parse(answer.body);
      } catch {
        json = undefined;
      }
    }
    if (answer.status >= 200 && answer.status < 300) return json;
    const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof err?.code === 'string' ? err.code : `EHTTP${answer.status}`;
    const message =
      typeof err?.message === 'string' ? err.message : answer.body.slice(0, 500) || `HTTP ${answer.status}`;
    throw new ApiRequestError(answer.status, code, message);
  }

  /** One raw request: the status and the body as text. */
  async request(method: string, target: string, body?: string): Promise<{ status: number; body: string }> {
    // Loaded at the first request: importing the API (as `vmm run` does) serves or asks nothing.
    const { default: http } = await import('./node-http');
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { host: 'localhost', accept: 'application/json' };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request({ socketPath: this.socketPath, method, path: target, headers, agent: false });
      if (this.options.timeoutMs !== undefined) {
        req.setTimeout(this.options.timeoutMs, () =>
          req.destroy(new VmmError('ETIMEDOUT', `${target}: no answer within ${this.options.timeoutMs} ms`)),
        );
      }
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof VmmError) return reject(e);
        if (e.code === 'ECONNREFUSED' && notASocket(this.socketPath)) {
          return reject(
            new VmmError(
              'EAPISOCKET',
              `${this.socketPath} is not a socket: give the path given to vmm run --api-socket path=PATH`,
            ),
          );
        }
        const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'nothing listens there' : e.message;
        reject(
          new VmmError(
            'EAPISOCKET',
            `cannot reach the API socket ${this.socketPath} (${e.code ?? 'error'}: ${why}): start one with vmm run --api-socket path=${this.socketPath}`,
          ),
        );
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy(
              new VmmError('EAPIANSWER', `${target}: the answer is over ${MAX_ANSWER_BYTES} bytes`),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.end(body);
    });
  }
}

/** Whether `path` is there and is something other than a socket (a file given by mistake). */
function notASocket(path: string): boolean {
  const st = fs.statSync(path, { throwIfNoEntry: false });
  return st !== undefined && !st.isSocket();
}
