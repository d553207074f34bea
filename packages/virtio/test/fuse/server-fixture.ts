// Unit tests of the FUSE server over a temporary directory (no /dev/fuse): for each test a fresh
// DIR with DIR/share in it, the servers the test opens over the share, and after it each server
// checked for internal errors (a bug, never the guest's doing) and closed, and DIR removed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import type { FuseServerOptions } from '../../src/fs/options';
import { FuseServer } from '../../src/fs/server';
import { call, req } from './requests';

export interface ShareFixture {
  /** This test's directory (the share is DIR/share). */
  readonly dir: string;
  /** A path in the share. */
  share(p?: string): string;
  /** A server over the share, after INIT unless `init` is false. */
  serve(options?: Partial<FuseServerOptions>, init?: boolean): FuseServer;
}

export function shareFixture(prefix: string, populate?: (dir: string) => void): ShareFixture {
  let dir = '';
  const servers: FuseServer[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.mkdirSync(path.join(dir, 'share'));
    populate?.(dir);
  });
  afterEach(() => {
    for (const s of servers.splice(0)) {
      expect(s.stats.internalErrors).toBe(0);
      s.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    share: (p = '') => path.join(dir, 'share', p),
    serve(options = {}, init = true) {
      const s = new FuseServer({ root: path.join(dir, 'share'), ...options });
      servers.push(s);
      if (init) expect(call(s, req.init()).errno).toBe(0);
      return s;
    },
  };
}
