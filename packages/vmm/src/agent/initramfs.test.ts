// The agent added to an initramfs: the archive real cpio lists after the original one, and the
// command line that starts the agent first and hands the original init its arguments.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCpio } from '../boot/cpio';
import { AGENT_GUEST_PATH, cmdlineWithAgent, initrdWithAgent } from './initramfs';

describe('the guest agent added to an initramfs', () => {
  it('follows the original archive; cpio unpacks both, the agent executable', () => {
    const original = writeCpio([
      { type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    ]);
    const agent = Buffer.from('\x7fELF not really an agent');
    const both = initrdWithAgent(original, agent);
    expect(Buffer.from(both.subarray(0, original.length))).toEqual(original);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-agent-initrd-'));
    const file = path.join(dir, 'initrd.cpio');
    fs.writeFileSync(file, both);
    // GNU cpio reads one archive per call: the second starts at the 512-byte boundary after the first.
    const second = path.join(dir, 'second.cpio');
    fs.writeFileSync(second, both.subarray(Math.ceil(original.length / 512) * 512));
    expect(execFileSync('cpio', ['-t', '--quiet', '-F', file], { encoding: 'utf8' }).trim()).toBe('init');
    expect(
      execFileSync('cpio', ['-t', '--quiet', '-F', second], { encoding: 'utf8' }).trim().split('\n'),
    ).toEqual(['.vmm', '.vmm/agent']);
    execFileSync('cpio', ['-idm', '--quiet', '-F', second], { cwd: dir });
    const st = fs.statSync(path.join(dir, AGENT_GUEST_PATH));
    expect(st.mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(path.join(dir, AGENT_GUEST_PATH))).toEqual(agent);
    fs.rmSync(dir, { recursive: true });
  });

  it('rdinit= names the agent; the init it replaced, and its arguments, are passed on', () => {
    expect(cmdlineWithAgent('console=ttyS0 quiet')).toBe(
      'console=ttyS0 quiet rdinit=/.vmm/agent -- --init-then /init',
    );
    expect(cmdlineWithAgent('console=ttyS0 rdinit=/sbin/myinit panic=-1')).toBe(
      'console=ttyS0 panic=-1 rdinit=/.vmm/agent -- --init-then /sbin/myinit',
    );
    expect(cmdlineWithAgent('console=ttyS0 -- single --port 7')).toBe(
      'console=ttyS0 rdinit=/.vmm/agent -- --init-then /init -- single --port 7',
    );
    expect(() => cmdlineWithAgent('rdinit=/a rdinit=/b')).toThrow(/rdinit= 2 times/);
  });
});
