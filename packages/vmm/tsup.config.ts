import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/vcpu-worker.ts', 'src/io/poller-worker.ts', 'src/io/device-thread.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
