import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM module without types
import { checkManifests } from './check-deps.mjs';
// @ts-expect-error plain ESM module without types
import { layerViolation } from './layers.mjs';

const fixtures = path.join(import.meta.dirname, 'fixtures');

describe('layer order', () => {
  it('allows downward imports and refuses upward and sideways ones', () => {
    expect(layerViolation('@vmm/vmm', '@vmm/virtio')).toBeUndefined();
    expect(layerViolation('@vmm/virtio', '@vmm/net')).toBeUndefined();
    expect(layerViolation('@vmm/net', '@vmm/virtio')).toMatch(/upward/);
    expect(layerViolation('@vmm/hypervisor', '@vmm/net')).toMatch(/sideways/);
  });

  it('eslint fails on the deliberately bad fixtures', async () => {
    const eslint = new ESLint({ cwd: path.resolve(import.meta.dirname, '../..'), ignore: false });
    const results = await eslint.lintFiles([
      path.join(fixtures, 'packages/net/src/upward.ts'),
      path.join(fixtures, 'packages/hypervisor/src/sideways.ts'),
    ]);
    const messages = results.flatMap((r) => r.messages.map((m) => m.message));
    expect(messages).toContainEqual(
      expect.stringMatching(/@vmm\/net may not depend on @vmm\/virtio \(upward\)/),
    );
    expect(messages).toContainEqual(
      expect.stringMatching(/@vmm\/hypervisor may not depend on @vmm\/net \(sideways\)/),
    );
  });

  it('the manifest check fails on a bad dependency and passes a good one', () => {
    const problems: string[] = checkManifests(path.join(fixtures, 'packages'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/@vmm\/net may not depend on @vmm\/vmm \(upward\)/);
  });

  it('the real packages follow the order', () => {
    expect(checkManifests(path.resolve(import.meta.dirname, '../../packages'))).toEqual([]);
  });
});
