// A share holds one host fd per inode the guest knows and per file it has open: raise
// RLIMIT_NOFILE for that at start, and say once per process (the limit is the process's), up
// front, when the process may not.
import { openFdCount, raiseFdLimit } from '@vmm/hypervisor';
import type { ResolvedFsOptions } from './options';

let warned = false;

/** Raises the limit; logs (once) when it still leaves too little room. */
export function reserveShareFds(o: ResolvedFsOptions): void {
  const need = o.maxNodes + o.maxHandles;
  const { soft, hard } = raiseFdLimit();
  const room = soft - openFdCount();
  if (room >= need || warned) return;
  o.log(
    `vmm fs: ${o.root}: the guest may hold ${o.maxNodes} host files and ${o.maxHandles} open ones, ` +
      `one fd each, but RLIMIT_NOFILE is ${soft} (hard ${hard}; this process cannot raise it without ` +
      `CAP_SYS_RESOURCE), room for about ${Math.max(room, 0)}: past that the guest's lookups fail with ` +
      `EMFILE. Raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) or lower maxNodes`,
    'fd-budget',
  );
  warned = true;
}
