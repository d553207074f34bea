import path from 'node:path';
import { defineConfig } from 'vitest/config';

const pkg = (name: string) => path.resolve(import.meta.dirname, `packages/${name}/src/index.ts`);
/** A package's subpath entry (@vmm/virtio/net → packages/virtio/src/net.ts). */
const entry = (name: string, sub: string) =>
  path.resolve(import.meta.dirname, `packages/${name}/src/${sub}.ts`);

export default defineConfig({
  resolve: {
    // Subpath entries first: an alias matches a specifier's prefix.
    alias: [
      ...['net', 'vsock', 'fs'].map((sub) => ({
        find: `@vmm/virtio/${sub}`,
        replacement: entry('virtio', sub),
      })),
      { find: '@vmm/net/options', replacement: entry('net', 'options') },
      ...['warm', 'api', 'agent', 'code-cache', 'koffi-native'].map((sub) => ({
        find: `@vmm/vmm/${sub}`,
        replacement: entry('vmm', sub),
      })),
      { find: '@vmm/hypervisor', replacement: pkg('hypervisor') },
      { find: '@vmm/net', replacement: pkg('net') },
      { find: '@vmm/virtio', replacement: pkg('virtio') },
      { find: '@vmm/vmm', replacement: pkg('vmm') },
      { find: '@vmm/cli', replacement: pkg('cli') },
    ],
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
