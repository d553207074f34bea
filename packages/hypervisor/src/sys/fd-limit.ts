// RLIMIT_NOFILE, raised as far as this process may: a virtio-fs share holds one O_PATH fd per host
// file the guest knows (tens of thousands for a source tree), more than the usual soft limit.
// virtiofsd does the same at start (its --rlimit-nofile defaults to fs.nr_open).
import fs from 'node:fs';
import { callError } from './call';
import { EPERM } from './errno';
import { lastErrno, libc } from './libc';

/** include/uapi/asm-generic/resource.h */
const RLIMIT_NOFILE = 7;
/** struct rlimit: rlim_cur, rlim_max (u64 each; RLIM_INFINITY is all ones). */
const RLIMIT_SIZE = 16;

export interface FdLimit {
  /** The limit that applies (rlim_cur). */
  soft: number;
  /** How far the process may raise it without CAP_SYS_RESOURCE (rlim_max). */
  hard: number;
}

function read(): FdLimit {
  const buf = new Uint8Array(RLIMIT_SIZE);
  if (libc().prlimit(0, RLIMIT_NOFILE, null, buf) !== 0)
    throw callError('prlimit', lastErrno(), 'RLIMIT_NOFILE');
  const v = new DataView(buf.buffer);
  const n = (off: number) => Number(BigInt.asUintN(53, v.getBigUint64(off, true)));
  return { soft: n(0), hard: n(8) };
}

function write(limit: FdLimit): number {
  const buf = new Uint8Array(RLIMIT_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, BigInt(limit.soft), true);
  v.setBigUint64(8, BigInt(limit.hard), true);
  return libc().prlimit(0, RLIMIT_NOFILE, buf, null) === 0 ? 0 : lastErrno();
}

/** The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open). */
function nrOpen(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/**
 * Raise RLIMIT_NOFILE: the hard limit up to fs.nr_open where the process may (CAP_SYS_RESOURCE),
 * the soft limit up to the hard one. Never lowers either. Returns the limit now in force.
 */
export function raiseFdLimit(): FdLimit {
  const now = read();
  const ceiling = nrOpen();
  if (ceiling > now.hard) {
    const e = write({ soft: ceiling, hard: ceiling });
    if (e === 0) return read();
    if (e !== EPERM) throw callError('prlimit', e, `RLIMIT_NOFILE to ${ceiling}`);
  }
  if (now.soft < now.hard) {
    const e = write({ soft: now.hard, hard: now.hard });
    if (e !== 0) throw callError('prlimit', e, `RLIMIT_NOFILE to ${now.hard}`);
  }
  return read();
}

/** File descriptors this process has open now. */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length - 1; // less the one readdir itself opened
}
