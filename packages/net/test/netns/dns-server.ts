// A tiny authoritative DNS server for the test (RFC 1035 §4.1): answers A queries for the names it
// is given, NXDOMAIN otherwise. Listens on 127.0.0.1 only.
import dgram from 'node:dgram';

export async function startDnsServer(
  records: Record<string, string>,
): Promise<{ port: number; queries: number; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  const state = { port: 0, queries: 0, close: () => socket.close() };
  socket.on('message', (q, rinfo) => {
    if (q.length < 12) return;
    state.queries++;
    let i = 12;
    const labels: string[] = [];
    while (i < q.length && q[i]! !== 0) {
      labels.push(q.subarray(i + 1, i + 1 + q[i]!).toString());
      i += 1 + q[i]!;
    }
    const qend = i + 5;
    const name = labels.join('.').toLowerCase();
    const qtype = q.readUInt16BE(i + 1);
    const ip = records[name];
    const answer = ip && qtype === 1;
    const head = Buffer.from(q.subarray(0, qend));
    head.writeUInt16BE(answer || ip ? 0x8180 : 0x8183, 2);
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(answer ? 1 : 0, 6);
    head.writeUInt16BE(0, 8);
    head.writeUInt16BE(0, 10);
    const parts = [head];
    if (answer) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((p, k) => (rr[12 + k] = Number(p)));
      parts.push(rr);
    }
    socket.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  state.port = socket.address().port;
  return state;
}
