// Adding the guest agent to any initramfs: one more cpio archive after the given one (Linux unpacks
// concatenated archives, compressed or not, into the same rootfs: Documentation/driver-api/
// early-userspace/buffer-format.rst) holding the agent, and `rdinit=` pointing at it. The agent
// starts as PID 1, forks its server off and execs the original init (the user's rdinit=, or /init)
// with the arguments the kernel gave, so that init still runs as PID 1.
import { VmmError } from '@vmm/hypervisor';
import { splitCmdline } from '../boot/cmdline';
import { writeCpio } from '../boot/cpio';

/** Where the agent is in the guest: out of the way of what an initramfs usually holds. */
export const AGENT_GUEST_DIR = '/.vmm';
export const AGENT_GUEST_PATH = `${AGENT_GUEST_DIR}/agent`;
/** The kernel's own default for rdinit= (init/main.c: ramdisk_execute_command). */
const DEFAULT_RDINIT = '/init';

/** The archive that carries the agent, to go after an initramfs (agentArchiveOffset). */
export function agentArchive(agent: Uint8Array): Uint8Array {
  return writeCpio([
    { type: 'dir', path: AGENT_GUEST_DIR, mode: 0o755 },
    { type: 'file', path: AGENT_GUEST_PATH, data: agent, mode: 0o755 },
  ]);
}

/** Where the agent's archive starts after an initramfs of `length` bytes. */
export function agentArchiveOffset(length: number): number {
  // The kernel skips zeros between archives; 512 keeps the second one aligned for any unpacker.
  return Math.ceil(length / 512) * 512;
}

/** `initrd` followed by an archive with the agent (padded so the archive starts on a 512-byte boundary). */
export function initrdWithAgent(initrd: Uint8Array, agent: Uint8Array): Uint8Array {
  const archive = agentArchive(agent);
  const start = agentArchiveOffset(initrd.length);
  const out = new Uint8Array(start + archive.length);
  out.set(initrd, 0);
  out.set(archive, start);
  return out;
}

/**
 * The command line with `rdinit=` naming the agent, and the init it replaced passed to the agent
 * after `--` (the kernel hands what follows `--` to init as arguments): `--init-then INIT`, then
 * the user's own arguments for init after a second `--`.
 */
export function cmdlineWithAgent(cmdline: string): string {
  const { kernel: kernelWords, rest: fromDashes } = splitCmdline(cmdline);
  const initWords = fromDashes.slice(1);
  const given = kernelWords.filter((w) => w.startsWith('rdinit='));
  if (given.length > 1)
    throw new VmmError('ERDINIT', `the command line names rdinit= ${given.length} times: keep one`);
  const init = given[0]?.slice('rdinit='.length) || DEFAULT_RDINIT;
  if (init.startsWith('-'))
    throw new VmmError('ERDINIT', `rdinit=${init} is not a path: give the init's absolute path`);
  const kept = kernelWords.filter((w) => !w.startsWith('rdinit='));
  // A second `--` ends the agent's own options: what follows is the init's, whatever it looks like.
  const rest = initWords.length > 0 ? ['--', ...initWords] : [];
  return [...kept, `rdinit=${AGENT_GUEST_PATH}`, '--', '--init-then', init, ...rest].join(' ');
}
