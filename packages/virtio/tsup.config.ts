import { defineConfig } from 'tsup';

export default defineConfig({
  // One entry per device family that pulls a subsystem (net: the NAT; vsock; fs: the FUSE server);
  // shared code goes to common chunks, so a class is the same class whichever entry it came from.
  entry: ['src/index.ts', 'src/net.ts', 'src/vsock.ts', 'src/fs.ts'],
  format: ['esm'],
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
