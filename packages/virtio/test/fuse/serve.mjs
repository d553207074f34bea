// Tests and `pnpm bench fs` only: the FUSE server mounted through /dev/fuse, run as its own process
// (started in a private mount namespace by harness.ts). Mounts SHARE at MOUNTPOINT, says
// "serving" on stdout, then blocks serving /dev/fuse until the mount goes away (OPTIONS-JSON's
// pollUs and splice: its loop's options, the rest the server's); prints its stats
// as one JSON line and exits. With RUN_AS=uid:gid it drops to that user after mounting (the
// unprivileged-server case: mount(2) needs root, serving does not).
// The server is the built one (@vmm/virtio/fs, what a VM's device thread runs) when
// VMM_TEST_BUILT=1 (`pnpm test` and `pnpm bench` build first), else the sources (run under tsx).
const { FuseServer, mountFuse, serveFuseDevice } = await import(
  process.env.VMM_TEST_BUILT === '1' ? '@vmm/virtio/fs' : '../../src/fs.ts'
);

const [share, mountpoint, json] = process.argv.slice(2);
if (!share || !mountpoint) {
  process.stderr.write('usage: serve.mjs SHARE MOUNTPOINT [OPTIONS-JSON]\n');
  process.exit(2);
}
const { pollUs, splice, ...given } = JSON.parse(json ?? '{}');
const options = { ...given, root: share };
const server = new FuseServer(options);
const fd = mountFuse(mountpoint, server);
const runAs = process.env.RUN_AS;
if (runAs) {
  const [uid, gid] = runAs.split(':').map(Number);
  process.setgroups?.([]);
  process.setgid(gid);
  process.setuid(uid);
}
process.stdout.write(`serving ${process.pid}\n`);
const device = serveFuseDevice(fd, server, { pollUs, splice });
process.stdout.write(`${JSON.stringify({ device, server: server.stats, held: server.held })}\n`);
server.close();
