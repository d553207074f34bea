#!/usr/bin/env node
// The test files a vitest JSON report (argv[2]) counts as failed, relative to the working
// directory, one line each: what tools/test/run.mjs runs again. A missing or unreadable report
// prints nothing (then every file runs again).
import path from 'node:path';
import { reportFiles } from './report.mjs';

for (const f of reportFiles(process.argv[2])) {
  if (f.status === 'failed') console.log(path.relative(process.cwd(), f.name));
}
