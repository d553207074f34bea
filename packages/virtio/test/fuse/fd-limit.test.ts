// Tier 3: a share holds one host fd per file the kernel's FUSE client knows, so RLIMIT_NOFILE
// bounds how many files a guest can hold at once. The server raises the limit at start (as
// virtiofsd does) and, where the process may not (no CAP_SYS_RESOURCE), says so at start; a lookup
// past the limit is EMFILE for the guest, and the server goes on.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { canRun, makeDirs, mount, type Dirs, type Mounted } from './harness';

const why = canRun();
if (why) console.warn(`SKIP (${why}): FUSE server through /dev/fuse (RLIMIT_NOFILE)`);
/** CAP_SYS_RESOURCE (bit 24 of CapEff, include/uapi/linux/capability.h): may raise a hard limit. */
const CAP_SYS_RESOURCE = 24n;
const mayRaise =
  (BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`) >>
    CAP_SYS_RESOURCE) &
  1n;
if (!why && !mayRaise)
  console.warn(
    'SKIP (no CAP_SYS_RESOURCE here, as in some containers): the FUSE server raising a hard RLIMIT_NOFILE',
  );

const FILES = 3000;
/** Makes FILES files in one directory and lists them: the kernel then holds a node for each. */
const MAKE_MANY = `mkdir many && cd many && i=0; while [ $i -lt ${FILES} ]; do : > f$i || exit 1; i=$((i+1)); done; ls -l | tail -n +2 | wc -l`;
const LOW = ['prlimit', '--nofile=512:512', '--'];

function openFileLimit(pid: number): { soft: number; hard: number } {
  const line = fs
    .readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line!.split(/\s+/).slice(3, 5).map(Number);
  return { soft: soft!, hard: hard! };
}

describe.skipIf(why !== undefined)('FUSE server through /dev/fuse: RLIMIT_NOFILE', () => {
  let dirs: Dirs | undefined;
  let m: Mounted | undefined;
  afterEach(async () => {
    if (m) await m.stop();
    if (dirs) fs.rmSync(dirs.base, { recursive: true, force: true });
    m = dirs = undefined;
  });

  it.skipIf(!mayRaise)(
    `started under a hard limit of 512, the server (root) raises it and the guest holds ${FILES} files`,
    async () => {
      dirs = makeDirs();
      m = await mount(dirs, {}, {}, LOW);
      expect(openFileLimit(m.pid).soft).toBeGreaterThan(65536 + 4096);
      const r = await m.sh(MAKE_MANY);
      expect(r.stderr).toBe('');
      expect(Number(r.stdout.trim())).toBe(FILES);
      expect(fs.readdirSync(`${dirs.share}/many`).length).toBe(FILES);
      expect(m.output()).not.toMatch(/RLIMIT_NOFILE/);
    },
  );

  it('without CAP_SYS_RESOURCE it says at start how far the limit goes; past it the guest gets EMFILE and the server serves on', async () => {
    dirs = makeDirs();
    m = await mount(dirs, {}, {}, [...LOW, 'setpriv', '--bounding-set=-sys_resource', '--']);
    expect(openFileLimit(m.pid)).toEqual({ soft: 512, hard: 512 });
    expect(m.output()).toMatch(
      /RLIMIT_NOFILE is 512 \(hard 512; .*CAP_SYS_RESOURCE\), room for about \d+: past that the guest's lookups fail with EMFILE/,
    );
    const r = await m.sh(MAKE_MANY);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Too many open files/);
    // The files made before the limit are there, and the share still answers.
    const made = fs.readdirSync(`${dirs.share}/many`).length;
    expect(made).toBeGreaterThan(300);
    expect(made).toBeLessThan(512);
    const again = await m.sh('ls many | wc -l');
    expect(again.stderr).toBe('');
    expect(Number(again.stdout.trim())).toBe(made);
    expect(m.output()).toMatch(/out of file descriptors/);
    const exit = await m.stop();
    m = undefined;
    expect(exit.server.internalErrors).toBe(0);
  });
});
