// FUSE_HANDLE_KILLPRIV_V2 (fuse.h 7.33): the server, not the kernel, drops setuid and setgid when
// a file is written, truncated or chowned by a caller without CAP_FSETID (the kernel says so with
// a *_KILL_SUIDGID flag). The rule is the VFS's (setattr_should_drop_suidgid): setuid always,
// setgid only with group execute (without it, setgid marks mandatory locking, not privilege).
// security.capability needs nothing here: the host kernel drops it on our own write or truncate.
import { fsConst as C } from '@vmm/hypervisor';
import { statMode } from './attr';
import type { FsContext } from './context';

/**
 * Drops setuid/setgid from the inode `fd` holds (any fd: O_PATH too). Leaves its statx in
 * ctx.stx, current. Returns 0 or -errno. A server without CAP_FOWNER cannot chmod a file it does
 * not own; its own write then drops the bits in the host kernel, for the same reason (it lacks
 * CAP_FSETID), so callers go on whatever this returns.
 */
export function killSuidSgid(ctx: FsContext, fd: number): number {
  const host = ctx.host;
  const r = host.stat(fd, ctx.stx);
  if (r < 0) return r;
  const mode = statMode(ctx.stxView);
  let kept = mode & ~C.S_ISUID;
  if ((mode & (C.S_ISGID | C.S_IXGRP)) === (C.S_ISGID | C.S_IXGRP)) kept &= ~C.S_ISGID;
  if (kept === mode) return 0;
  if (host.fs.fchmodat(host.procFd, host.procNameOf(fd), kept & 0o7777, 0) !== 0) return -host.err();
  return host.stat(fd, ctx.stx);
}
