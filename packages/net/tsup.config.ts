import { defineConfig } from 'tsup';

export default defineConfig({
  // options: the parsers alone, for a program that checks a NIC's config without running the NAT.
  entry: ['src/index.ts', 'src/options.ts'],
  splitting: true,
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
