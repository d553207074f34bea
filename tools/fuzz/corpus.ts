// Corpus files: one input per file, named by the SHA-1 of its bytes (as libFuzzer names them), so
// the same input is never stored twice. `minimiseCorpus` keeps a checked-in corpus small: of all
// candidates it keeps, greedily, the one adding most features not yet covered (the smaller on a
// tie), until nothing adds any or the cap is reached. A file with a name of its own instead of a
// hash (regression-<bug>: an input that once crashed the target; seed-<what>: a real artefact,
// such as a kernel built by gcc) is kept whatever it covers.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FuzzSession } from './engine';

export function entryName(data: Uint8Array): string {
  return crypto.createHash('sha1').update(data).digest('hex');
}

/** The inputs in `dir`, by file name (no dot files); none when it does not exist. */
export function readCorpus(dir: string): Uint8Array[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
}

/** Store `data` in `dir` under its hash; returns the path. */
export function saveInput(dir: string, data: Uint8Array, prefix = ''): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, prefix + entryName(data));
  if (!fs.existsSync(file)) fs.writeFileSync(file, data);
  return file;
}

/** The names `--merge` manages; any other name is pinned. */
const HASH_NAME = /^[0-9a-f]{40}$/;

export interface MinimiseOptions {
  maxEntries: number;
  maxBytes: number;
  /** Inputs kept anyway (pinned files): what they cover counts as covered. */
  pinned?: readonly Uint8Array[];
}

/** The inputs of `dir` with names of their own (regression-*, seed-*). */
export function readPinned(dir: string): Uint8Array[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => !f.startsWith('.') && !HASH_NAME.test(f))
    .sort()
    .map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
}

/**
 * The smallest set (greedy set cover) of `candidates` covering every feature they cover together,
 * capped at `maxEntries`. Inputs longer than `maxBytes` are left out. Throws on an input that crashes.
 */
export function minimiseCorpus(
  session: FuzzSession,
  candidates: readonly Uint8Array[],
  o: MinimiseOptions,
): Uint8Array[] {
  const featuresOf = (data: Uint8Array): number[] => {
    const f = session.featuresOf(data);
    if (!Array.isArray(f)) {
      throw new Error(`corpus input ${entryName(data)} crashes the target: ${String(f.error)}`, {
        cause: f.error,
      });
    }
    return f;
  };
  const covered = new Set<number>();
  const seen = new Set<string>();
  for (const data of o.pinned ?? []) {
    seen.add(entryName(data));
    for (const f of featuresOf(data)) covered.add(f);
  }
  const inputs: { data: Uint8Array; features: number[] }[] = [];
  for (const data of candidates) {
    const name = entryName(data);
    if (data.length > o.maxBytes || seen.has(name)) continue;
    seen.add(name);
    inputs.push({ data, features: featuresOf(data) });
  }
  const kept: Uint8Array[] = [];
  const left = new Set(inputs);
  while (kept.length < o.maxEntries) {
    let best: (typeof inputs)[number] | undefined;
    let bestGain = 0;
    for (const c of left) {
      let gain = 0;
      for (const f of c.features) if (!covered.has(f)) gain++;
      if (gain > bestGain || (gain === bestGain && gain > 0 && c.data.length < best!.data.length)) {
        best = c;
        bestGain = gain;
      }
    }
    if (!best) break;
    left.delete(best);
    for (const f of best.features) covered.add(f);
    kept.push(best.data);
  }
  return kept;
}

/** Make `dir` hold exactly `entries`, and its pinned files; returns how many files were added and removed. */
export function writeCorpus(dir: string, entries: readonly Uint8Array[]): { added: number; removed: number } {
  fs.mkdirSync(dir, { recursive: true });
  const want = new Map(entries.map((e) => [entryName(e), e]));
  let removed = 0;
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith('.') || !HASH_NAME.test(f) || want.has(f)) continue;
    fs.rmSync(path.join(dir, f));
    removed++;
  }
  let added = 0;
  for (const [name, data] of want) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) continue;
    fs.writeFileSync(file, data);
    added++;
  }
  return { added, removed };
}
