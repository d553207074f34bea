// Where the benchmarks find the repository and the built `vmm` they time.
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');

/** The built `vmm` binary (pnpm build), as `node <builtVmm> ...`. */
export const builtVmm = path.join(root, 'packages/cli/dist/bin.cjs');
