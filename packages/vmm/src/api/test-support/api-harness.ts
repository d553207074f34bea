// An ApiServer on a Unix socket in a fresh folder, its controller booting stand-in VMs, and
// requests to it: through node:http (every answer checked against docs/openapi.yaml) or as raw
// bytes on a socket.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { VmConfig } from '../../config';
import { ApiController, type ApiControllerOptions } from '../controller';
import { ApiServer, type ApiServerOptions } from '../server';
import { checkAnswer, type Answer } from './openapi';
import { StandInVm } from './stand-in-vm';
import { SnapshotError } from '../../snapshot/errors';

export interface Harness {
  dir: string;
  socket: string;
  server: ApiServer;
  controller: ApiController;
  /** Every stand-in VM booted so far, the last is the current one. */
  vms: StandInVm[];
  /** Configs the controller booted. */
  booted: VmConfig[];
  /** The restores the controller asked for, failed ones too. */
  restores: { dir: string; prefault: boolean }[];
  close(): Promise<void>;
}

export async function startHarness(
  options: Omit<Partial<ApiServerOptions>, 'path' | 'controller'> & {
    /** Boot with this instead of a stand-in VM (to make boot fail). */
    start?: ApiControllerOptions['start'];
    /** How long a stand-in VM takes to boot. */
    bootMs?: number;
  } = {},
): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-api-'));
  const socket = path.join(dir, 'api.sock');
  const vms: StandInVm[] = [];
  const booted: VmConfig[] = [];
  const restores: Harness['restores'] = [];
  const { start, bootMs, ...serverOptions } = options;
  const controller = new ApiController({
    start:
      start ??
      (async (config) => {
        booted.push(config);
        if (bootMs) await new Promise((r) => setTimeout(r, bootMs));
        const vm = new StandInVm();
        vms.push(vm);
        return vm;
      }),
    // A stand-in restore: a directory a stand-in VM "snapshotted" gives a paused stand-in with
    // the config it was booted with; any other is missing.
    restore: async (dir, { prefault }) => {
      restores.push({ dir, prefault });
      const i = vms.findIndex((v) => v.snapshots.includes(dir));
      if (i < 0) throw new SnapshotError('ESNAPSHOTMISSING', `${dir} holds no snapshot`);
      const vm = new StandInVm();
      vm.state = 'paused';
      vms.push(vm);
      return { vm, config: booted[i]! };
    },
  });
  const server = await ApiServer.listen({ ...serverOptions, path: socket, controller });
  return {
    dir,
    socket,
    server,
    controller,
    vms,
    booted,
    restores,
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One request through node:http; the answer is checked against docs/openapi.yaml. */
export async function request(
  socket: string,
  method: string,
  endpoint: string,
  body?: string | Buffer,
  headers: http.OutgoingHttpHeaders = {},
): Promise<Answer & { json: unknown }> {
  const a = await new Promise<Answer>((resolve, reject) => {
    const req = http.request({
      socketPath: socket,
      method,
      path: endpoint.startsWith('/') ? endpoint : `/api/v1/${endpoint}`,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(body !== undefined && !headers['transfer-encoding']
          ? { 'content-length': Buffer.byteLength(body) }
          : {}),
        ...headers,
      },
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
    });
    req.end(body);
  });
  const name = endpoint.startsWith('/api/v1/') ? endpoint.slice(8) : endpoint;
  expect(checkAnswer(name.split('?')[0]!, a), `${method} ${endpoint} -> ${a.status} ${a.body}`).toEqual([]);
  return { ...a, json: a.body === '' ? undefined : JSON.parse(a.body) };
}

/** The error code of an error answer. */
export function codeOf(a: { json: unknown }): string | undefined {
  return (a.json as { error?: { code?: string } } | undefined)?.error?.code;
}

/** Raw bytes on a fresh connection; resolves with everything the server sent until it closed. */
export function rawExchange(
  socket: string,
  bytes: Buffer | string,
  options: { endAfterWrite?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e),
    );
    c.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    c.on('connect', () => {
      c.write(bytes);
      if (options.endAfterWrite) c.end();
    });
  });
}
