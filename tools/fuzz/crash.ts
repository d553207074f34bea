// What a crash report needs: the error's kind (to tell the same crash from another while
// shrinking), a smaller input that still shows it, and the report itself, with the input in hex
// and the commands that repeat it.
import path from 'node:path';
import type { Crash, FuzzSession } from './engine';
import { runGuarded } from './guard';
import { ROOT } from './targets';

/** The error's class and message with its numbers blanked: "RangeError: Offset is outside the bounds". */
export function crashKind(error: unknown): string {
  const name = error instanceof Error ? error.constructor.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return `${name}: ${message.split('\n', 1)[0]!.replace(/0x[0-9a-fA-F]+|\d+/g, 'N')}`;
}

/** A trial input of a hang shrink that runs longer than this (and then ten times this) hangs too. */
const HANG_TRIAL_MS = 25;

/**
 * Shrink a crashing input: drop chunks (halving sizes, then every size up to 64 until nothing more
 * goes), then zero bytes, keeping each change that still gives the same kind of crash (for a hang:
 * that still runs past HANG_TRIAL_MS). Stops after `budgetMs`.
 */
export function shrinkCrash(session: FuzzSession, crash: Crash, budgetMs = 5000): Uint8Array {
  const kind = crashKind(crash.error);
  // A hang trial that runs out of time is tried again with ten times as long: a pause of the
  // process (a GC, another process on the core) must not pass for a hang.
  const hangs = (d: Uint8Array, ms: number): boolean => !runGuarded(() => session.probe(d), ms);
  const same = crash.hang
    ? (d: Uint8Array): boolean => hangs(d, HANG_TRIAL_MS) && hangs(d, 10 * HANG_TRIAL_MS)
    : (d: Uint8Array): boolean => {
        const e = session.probe(d);
        return e !== undefined && crashKind(e) === kind;
      };
  const deadline = Date.now() + budgetMs;
  let best = crash.input;
  /** Drop `chunk` bytes wherever that keeps the crash; true when anything was dropped. */
  const drop = (chunk: number): boolean => {
    let dropped = false;
    for (let at = 0; at + chunk <= best.length && Date.now() < deadline;) {
      const trial = new Uint8Array(best.length - chunk);
      trial.set(best.subarray(0, at));
      trial.set(best.subarray(at + chunk), at);
      if (same(trial)) {
        best = trial;
        dropped = true;
      } else at += chunk;
    }
    return dropped;
  };
  const shrink = (): void => {
    // Halving chunks first (big cuts fast), then every small size (a record of 6 bytes goes whole).
    for (let chunk = best.length >> 1; chunk >= 1; chunk >>= 1) drop(chunk);
    for (let again = true; again && Date.now() < deadline;) {
      again = false;
      for (let chunk = Math.min(64, best.length); chunk >= 1; chunk--) if (drop(chunk)) again = true;
    }
    for (let i = 0; i < best.length && Date.now() < deadline; i++) {
      if (best[i] === 0) continue;
      const trial = best.slice();
      trial[i] = 0;
      if (same(trial)) best = trial;
    }
  };
  // Each hang trial is guarded on its own; a crash shrink as a whole, in case a trial hangs.
  if (crash.hang) shrink();
  else runGuarded(shrink, budgetMs + session.hangSeconds * 1000);
  return best;
}

export function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

/** The report of a crash whose (shrunk) input was saved to `file`. */
export function crashReport(id: string, crash: Crash, input: Uint8Array, file: string, seed: number): string {
  const what = crash.hang ? 'HANG' : `CRASH: ${crashKind(crash.error)}`;
  const rel = path.relative(ROOT, file);
  const stack =
    crash.error instanceof Error ? (crash.error.stack ?? String(crash.error)) : String(crash.error);
  return [
    `${id}: ${what}`,
    `  input (${input.length} bytes${input.length < crash.input.length ? `, shrunk from ${crash.input.length}` : ''}): ${hex(input)}`,
    `  saved to ${rel}; seed ${seed}`,
    `  repeat: pnpm fuzz --repro ${rel} ${id}   (the target as written, no instrumentation: real stack)`,
    `  again from the seed: FUZZ_SEED=${seed} pnpm fuzz ${id}`,
    `  ${stack.split('\n').slice(0, 8).join('\n  ')}`,
  ].join('\n');
}
