// A vitest JSON report's per-file results: read by tools/test/run.mjs on the host and by
// tools/test/failed-files.mjs inside the nested-KVM VM.
import fs from 'node:fs';

/** The report's per-file results (name: absolute path, status, assertionResults), or [] if none. */
export function reportFiles(report) {
  try {
    return JSON.parse(fs.readFileSync(report, 'utf8')).testResults;
  } catch {
    return [];
  }
}
