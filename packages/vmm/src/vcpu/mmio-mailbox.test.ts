import { describe, expect, it } from 'vitest';
import { startModuleWorker } from '../worker-url';
import { MailboxServer, createMailbox } from './mmio-mailbox';

const clientWorker = new URL('./test-support/mailbox-client-worker.ts', import.meta.url);

describe('MMIO mailbox between a vCPU worker and the main thread', () => {
  it('carries reads and writes, in order, with the main event loop free', async () => {
    const sab = createMailbox();
    const regs = new Map<number, number>();
    const server = new MailboxServer(sab, {
      mmioWrite: (a, d) => regs.set(a, new DataView(d.buffer, d.byteOffset, d.length).getUint32(0, true)),
      mmioRead: (a, d) =>
        new DataView(d.buffer, d.byteOffset, d.length).setUint32(0, (regs.get(a) ?? 0) + 1, true),
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const w = startModuleWorker(clientWorker, { workerData: { sab, mode: 'roundtrip' } });
    const got = await new Promise<number[]>((res, rej) => {
      w.on('message', res);
      w.on('error', rej);
    });
    clearInterval(timer);
    server.close();
    await w.terminate();
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i * 3 + 1));
    expect(regs.get(0xd000_0050)).toBe(199 * 3);
    expect(ticks).toBeGreaterThan(0);
  });

  it('releases a waiting worker when closed', async () => {
    const sab = createMailbox();
    const server = new MailboxServer(sab, { mmioRead: () => {}, mmioWrite: () => {} });
    server.close();
    const w = startModuleWorker(clientWorker, { workerData: { sab, mode: 'closed' } });
    const ok = await new Promise((res, rej) => {
      w.on('message', res);
      w.on('error', rej);
    });
    await w.terminate();
    expect(ok).toBe(false);
  });
});
