// Records the requests the host kernel's FUSE client sends for a few workloads (real tools through a
// real mount) and writes each stream as a seed of the FUSE fuzz target's corpus
// (packages/virtio/fuzz/corpus/fs/request/seed-kernel-<workload>). Each workload gets a fresh server
// over the target's own share layout (fuzz-share.ts), so the node ids in a stream name the files
// they name for the target. Root only; run it in a mount namespace of its own:
//   unshare -m --propagation private node --import tsx packages/virtio/test/fuse/record-corpus.ts
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsAt, fsErrno } from '@vmm/hypervisor';
import { FuseServer, mountFuse } from '../../src/fs';
import { populateShare } from './fuzz-share';

const OUT = path.resolve(import.meta.dirname, '../../fuzz/corpus/fs/request');
/** The fuzz target reads at most 32 requests and 8 KiB of an input. */
const MAX_REQUESTS = 32;
const MAX_BYTES = 8192;

const workloads: Record<string, string> = {
  read: 'cat a d/c && stat b >/dev/null && ls -l d >/dev/null',
  write: 'echo hello > n && echo more >> n && truncate -s 3 n && chmod 600 n && cat n >/dev/null',
  names:
    'mkdir x && ln -s a x/l && readlink x/l && ln a x/h && mv x/h x/h2 && mv -n b a; rm x/l x/h2 && rmdir x',
  readdir: 'ls -la . d >/dev/null',
  xattr: 'setfattr -n user.k -v v a && getfattr -d a >/dev/null && setfattr -x user.k a',
  fallocate: 'fallocate -l 65536 f && fallocate -p -o 0 -l 4096 f && rm f',
  escape: 'cat abs rel/secret; ls rel; echo x > abs; ln abs hl; cd d && ls .. >/dev/null',
  special: 'mkfifo p; mknod dev c 1 3; rm -f p dev; touch -d 2001-01-01 a',
};

function record(name: string, script: string): void {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-fuse-rec-'));
  const share = path.join(base, 'share');
  const mnt = path.join(base, 'mnt');
  populateShare(share, path.join(base, 'outside'));
  fs.mkdirSync(mnt);
  const server = new FuseServer({ root: share, log: () => {} });
  const fd = mountFuse(mnt, server);
  // The workload runs in a child (same mount namespace) and unmounts when done; this thread serves.
  spawn('sh', ['-c', `cd ${mnt} && { ${script}; } >/dev/null 2>&1; cd / && umount ${mnt}`], {
    stdio: 'ignore',
  });
  const io = fsAt();
  const buf = new Uint8Array(server.maxRequestSize + 72 * 1024);
  const stream: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const n = io.read(fd, buf, buf.length);
    if (n < 0) {
      if (fsErrno() === 19) break; // ENODEV: unmounted
      continue;
    }
    if (stream.length < MAX_REQUESTS && bytes + n <= MAX_BYTES) {
      stream.push(buf.slice(0, n));
      bytes += n;
    }
    const len = server.handle(buf, n);
    if (len > 0) io.write(fd, server.reply, len);
  }
  io.close(fd);
  server.close();
  fs.rmSync(base, { recursive: true, force: true });
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const r of stream) {
    out.set(r, at);
    at += r.length;
  }
  fs.writeFileSync(path.join(OUT, `seed-kernel-${name}`), out);
  process.stdout.write(`${name}: ${stream.length} requests, ${bytes} bytes\n`);
}

fs.mkdirSync(OUT, { recursive: true });
for (const [name, script] of Object.entries(workloads)) record(name, script);
