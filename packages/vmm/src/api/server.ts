// Cloud Hypervisor's REST API (--api-socket) over HTTP/1.1 on a Unix socket, with node:http doing
// the HTTP framing. Bounded against a slow or garbage client: at most MAX_BODY_BYTES of body (413
// past it), MAX_HEADER_BYTES of headers (431), the whole request within REQUEST_TIMEOUT_MS (408),
// MAX_CONNECTIONS at once; a request that is not HTTP gets a 400 and the connection is closed.
// Every error answer is `{ "error": { "code", "message" } }` (errors.ts); docs/openapi.yaml is
// the contract. node:http loads when a server listens (a `vmm run --restore` without a socket
// imports this module and serves nothing).
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { VmSettings } from './ch-config';
import type { VmController } from './controller';
import { dispatch, type ApiAnswer } from './dispatch';
import { ApiError, errorBody, toApiError } from './errors';
import { endpointOf, parseApiRequest, type ApiCall } from './request';
import { ROUTES } from './routes';
import { listenOwnerOnly, type BoundSocket } from './socket-file';

/** Request bodies past this are refused with 413 (a VmConfig is a few hundred bytes). */
export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_HEADER_BYTES = 8 * 1024;
const MAX_HEADERS = 64;
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;
const KEEP_ALIVE_MS = 5_000;
const MAX_CONNECTIONS = 64;
/** After close(), connections still open (a client waiting on a long vm.boot) are cut after this. */
const CLOSE_GRACE_MS = 2_000;

export interface ApiServerOptions {
  /** The Unix socket's path: created with mode 0600; a stale socket there is replaced. */
  path: string;
  controller: VmController;
  /** What a VM made by vm.create gets that Cloud Hypervisor's JSON cannot say. */
  settings?: VmSettings;
  /** Largest request body taken (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** How long a client has to send its headers (default 5 s) and its whole request (default 15 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** One line for each request the VM or the server failed (a 500): what the client was told. */
  log?: (line: string) => void;
}

export class ApiServer {
  /** Settles when the server has closed (close(), or after answering vmm.shutdown). */
  readonly closed: Promise<void>;
  private readonly http: http.Server;
  private socket: BoundSocket | undefined;
  private closing = false;
  private readonly maxBody: number;
  private readonly requestTimeoutMs: number;

  private constructor(
    private readonly options: ApiServerOptions,
    private readonly httpModule: typeof http,
  ) {
    this.maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.http = httpModule.createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
        requestTimeout: this.requestTimeoutMs,
        keepAliveTimeout: KEEP_ALIVE_MS,
        connectionsCheckingInterval: 1_000,
        // ch-remote and curl send a Host header; a client on a Unix socket has no host to name.
        requireHostHeader: false,
      },
      (req, res) => this.onRequest(req, res),
    );
    this.http.maxHeadersCount = MAX_HEADERS;
    this.http.maxConnections = MAX_CONNECTIONS;
    this.http.on('clientError', (err, socket) => this.onClientError(err, socket));
    this.closed = new Promise((resolve) => this.http.once('close', () => resolve()));
  }

  /** Listen on options.path; resolves when clients can connect. */
  static async listen(options: ApiServerOptions): Promise<ApiServer> {
    const server = new ApiServer(options, (await import('./node-http')).default);
    server.socket = await listenOwnerOnly(server.http, options.path);
    return server;
  }

  get path(): string {
    return this.options.path;
  }

  /** Stop taking connections, remove the socket file, and settle once every connection is closed. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.socket?.unlink();
      this.http.close();
      this.http.closeIdleConnections();
      setTimeout(() => this.http.closeAllConnections(), CLOSE_GRACE_MS).unref();
    }
    return this.closed;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBody) return this.refuseTooLarge(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > this.maxBody) {
        over = true;
        chunks.length = 0;
        this.refuseTooLarge(req, res);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) void this.answer(req, res, Buffer.concat(chunks, size));
    });
    req.on('error', () => {}); // the client went away: nothing to answer
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    let call: ApiCall;
    try {
      call = parseApiRequest(req.method ?? '', req.url ?? '', body, { settings: this.options.settings });
    } catch (e) {
      const err = toApiError(e, 'the request');
      if (err.status === 405) res.setHeader('allow', ROUTES[endpointOf(req.url ?? '')].method);
      return this.sendError(res, err);
    }
    let answer: ApiAnswer;
    try {
      answer = await dispatch(call, this.options.controller);
    } catch (e) {
      return this.sendError(res, toApiError(e, call.endpoint));
    }
    if (call.endpoint === 'vmm.shutdown') res.once('finish', () => void this.close());
    if (answer.body === undefined) {
      res.writeHead(answer.status).end();
      return;
    }
    this.sendJson(res, answer.status, answer.body);
  }

  private refuseTooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.setHeader('connection', 'close');
    res.once('finish', () => req.socket.destroy());
    this.sendError(
      res,
      new ApiError(
        413,
        'EAPITOOLARGE',
        `the request body is over ${this.maxBody} bytes: a request takes at most that`,
      ),
    );
  }

  private sendError(res: http.ServerResponse, e: ApiError): void {
    if (e.status === 500) this.options.log?.(`API: ${e.status} ${e.code}: ${e.message}`);
    this.sendJson(res, e.status, errorBody(e));
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /** Not HTTP, headers too large, too slow: one JSON answer if the socket can take it, then close. */
  private onClientError(err: Error & { code?: string }, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'EAPIHEADERS', `the request headers are over ${MAX_HEADER_BYTES} bytes`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'EAPITIMEOUT', `the request did not arrive within ${this.requestTimeoutMs} ms`]
          : [400, 'EAPIHTTP', `not an HTTP/1.1 request (${err.code ?? err.message})`];
    const text = JSON.stringify(errorBody({ code, message }));
    socket.end(
      `HTTP/1.1 ${status} ${this.httpModule.STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
    socket.once('finish', () => socket.destroy());
  }
}
