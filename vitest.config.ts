import path from 'node:path';
import { defineConfig } from 'vitest/config';

const pkg = (name: string) => path.resolve(import.meta.dirname, `packages/${name}/src/index.ts`);

export default defineConfig({
  resolve: {
    alias: {
      '@vmm/hypervisor': pkg('hypervisor'),
      '@vmm/net': pkg('net'),
      '@vmm/virtio': pkg('virtio'),
      '@vmm/vmm': pkg('vmm'),
      '@vmm/cli': pkg('cli'),
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'tools/**/*.test.ts',
      'test-vms/src/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**', 'tools/layers/fixtures/**'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
