// import() that also works in code run from a V8 code cache. On Node 20 a vm.Script compiled with
// cachedData loses its dynamic-import callback (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING: the
// script's host options are not restored with the cache), so a code-cached bundle's loader, a
// module Node compiled itself, lends its own import() here (io/pool-worker-loader.ts).
export const LENT_IMPORT = Symbol.for('@vmm/vmm lent import');

type Importer = (specifier: string) => Promise<unknown>;

/** import(specifier), through the loader's import() when one was lent. */
export function dynamicImport(specifier: string): Promise<unknown> {
  const lent = (globalThis as Record<symbol, unknown>)[LENT_IMPORT] as Importer | undefined;
  return lent ? lent(specifier) : import(specifier);
}
