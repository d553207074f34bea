#!/usr/bin/env node
// The test files a vitest JSON report (argv[2]) counts as failed, relative to the working
// directory, one line each: what tools/test/run.mjs runs again. A missing or unreadable report
// prints nothing (then every file runs again).
import fs from 'node:fs';
import path from 'node:path';

try {
  const report = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const f of report.testResults) {
    if (f.status === 'failed') console.log(path.relative(process.cwd(), f.name));
  }
} catch {
  // nothing named: the caller runs them all
}
