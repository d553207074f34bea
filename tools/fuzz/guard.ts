// Runs a slice of the fuzzing loop under a time limit, so that an input stuck in a loop ends the
// run as a hang instead of hanging it (pnpm test included). vm's `timeout` has V8 terminate
// whatever JavaScript is running when the limit passes, which no try/catch in the target can
// stop. Each guarded call starts a watchdog thread (~0.4 ms here), so a slice runs many inputs.
import vm from 'node:vm';

const SLOT = '__vmmFuzzSlice';
const script = new vm.Script(`globalThis.${SLOT}()`, { filename: 'fuzz-guard' });

/** Run `fn`; false when it was stopped after `timeoutMs`. Errors it throws pass through. */
export function runGuarded(fn: () => void, timeoutMs: number): boolean {
  const g = globalThis as Record<string, unknown>;
  g[SLOT] = fn;
  try {
    script.runInThisContext({ timeout: timeoutMs });
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return false;
    throw e;
  } finally {
    delete g[SLOT];
  }
}
