#!/usr/bin/env node
// Checks every package.json under packages/ (or the directory given) against the
// layer order: a dependency on a @vmm package above or beside is an error.
import fs from 'node:fs';
import path from 'node:path';
import { layerViolation } from './layers.mjs';

export function checkManifests(root) {
  const problems = [];
  for (const dir of fs.readdirSync(root)) {
    const file = path.join(root, dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(pkg[field] ?? {})) {
        if (!dep.startsWith('@vmm/')) continue;
        const why = layerViolation(pkg.name, dep);
        if (why) problems.push(`${file}: ${field}: ${why}`);
      }
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(process.argv[2] ?? 'packages');
  const problems = checkManifests(root);
  for (const p of problems) console.error(`layer check: ${p}`);
  if (problems.length) process.exit(1);
  console.log(`layer check: ${fs.readdirSync(root).length} package manifests follow the layer order`);
}
