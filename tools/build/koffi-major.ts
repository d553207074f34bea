// koffi's major version in @vmm/hypervisor's dependency range, for the builds that define
// __KOFFI_MAJOR__: koffi is taken straight from its native module only at that major
// (packages/vmm/src/io/koffi-native.ts).
import fs from 'node:fs';
import path from 'node:path';

const manifest = path.resolve(import.meta.dirname, '../../packages/hypervisor/package.json');

export function koffiMajor(): string {
  const { dependencies } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const major = /^\^?(\d+)\./.exec(dependencies?.koffi ?? '')?.[1];
  if (!major) throw new Error(`tools/build/koffi-major.ts: no ^MAJOR.x range for koffi in ${manifest}`);
  return major;
}
