// A snapshot directory on disk: written file by file, each renamed into place, the manifest last
// (so a reader never sees half of one), read back with every file checked against the manifest
// before any of it is used.
import fs from 'node:fs';
import path from 'node:path';
import {
  OfdLock,
  crc32Hex,
  decodeHypervisorState,
  encodeHypervisorState,
  fsConst,
  verifyMemoryFile,
  VmmError,
  writeMemoryFile,
  type GuestMemory,
  type HypervisorState,
} from '@vmm/hypervisor';
import type { VmConfig } from '../config';
import { decodeDevicesState, encodeDevicesState, type DevicesState } from './devices';
import { SnapshotError } from './errors';
import {
  DEVICES_FILE,
  KVM_STATE_FILE,
  MANIFEST_FILE,
  MEMORY_FILE,
  createManifest,
  formatManifest,
  parseManifest,
  type SnapshotFileEntry,
  type SnapshotManifest,
} from './manifest';

export interface SnapshotContents {
  config: VmConfig;
  kvm: HypervisorState;
  devices: DevicesState;
  memory: GuestMemory;
}

export interface SnapshotSummary {
  dir: string;
  /** Bytes of guest RAM written (pages not all zero). */
  memoryDataBytes: number;
}

/**
 * Write a snapshot into `dir` (created if missing; refused if it already holds one). The VM must
 * not run meanwhile. A write that fails (a full disk) removes what it wrote and says why.
 */
export function saveSnapshot(dir: string, s: SnapshotContents): SnapshotSummary {
  prepareSnapshotDir(dir);
  const claim = claimSnapshotDir(dir);
  const written: string[] = [claim.path];
  const file = (name: string) => {
    const p = path.join(dir, name);
    written.push(p);
    return p;
  };
  try {
    // Each file is written under a new name and renamed over any old one: an old `memory` may be
    // the file a running VM restored from maps copy-on-write, and truncating it would take the
    // pages that VM has not written from under it (they read as zeros, in the guest and here).
    const small = (name: string, bytes: Uint8Array): SnapshotFileEntry => {
      fs.writeFileSync(file(`${name}.tmp`), bytes, { mode: 0o600 });
      return { size: bytes.length, crc32: crc32Hex(bytes) };
    };
    const kvm = small(KVM_STATE_FILE, encodeHypervisorState(s.kvm));
    const devices = small(DEVICES_FILE, encodeDevicesState(s.devices));
    const memory = writeMemoryFile(s.memory, file(`${MEMORY_FILE}.tmp`));
    const manifest = createManifest(s.config, {
      [MEMORY_FILE]: { size: memory.size, crc32: memory.crc32, dataBytes: memory.dataBytes },
      [KVM_STATE_FILE]: kvm,
      [DEVICES_FILE]: devices,
    });
    fs.writeFileSync(claim.fd, formatManifest(manifest));
    // The manifest last: a reader finds all of the snapshot or none of it.
    for (const name of [KVM_STATE_FILE, DEVICES_FILE, MEMORY_FILE, MANIFEST_FILE]) {
      fs.renameSync(path.join(dir, `${name}.tmp`), file(name));
    }
    fs.closeSync(claim.fd); // the claim's lock with it
    return { dir, memoryDataBytes: memory.dataBytes };
  } catch (e) {
    for (const p of written) {
      try {
        fs.unlinkSync(p);
      } catch {
        // never made, or not a file of ours (a directory in the way)
      }
    }
    fs.closeSync(claim.fd);
    if (e instanceof VmmError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new SnapshotError(
      'ESNAPSHOTWRITE',
      `writing the snapshot into ${dir} failed (${code}): ${code === 'ENOSPC' || code === 'EDQUOT' ? 'free space there' : 'check the directory'} or give another one; nothing of it was kept`,
      { cause: e },
    );
  }
}

/**
 * `dir` made ready for a snapshot: created (with its parents, mode 0700) when missing, refused
 * when it is not a directory or cannot be made. Whether it holds a snapshot is asked once the
 * directory is claimed (claimSnapshotDir), where no other writer can be landing one.
 */
export function prepareSnapshotDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const why =
      code === 'EEXIST' || code === 'ENOTDIR' ? 'it (or a folder on its path) is a file' : `${code}`;
    throw new SnapshotError(
      'ESNAPSHOTDIR',
      `cannot write a snapshot into ${dir}: ${why}: give a new or empty directory`,
      { cause: e },
    );
  }
}

/**
 * The directory claimed for one writer: the manifest's temporary file, created and write-locked
 * (an open file description lock: a writer that dies lets go with it), then refused when the
 * directory holds a snapshot (one another writer landed included). Two processes writing into one
 * directory at once would mix their files; the second is refused instead.
 */
function claimSnapshotDir(dir: string): { fd: number; path: string } {
  const claimPath = path.join(dir, `${MANIFEST_FILE}.tmp`);
  let fd: number;
  try {
    // Not truncated before the lock is ours: another writer's manifest may be in it.
    fd = fs.openSync(claimPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new SnapshotError(
      'ESNAPSHOTDIR',
      `cannot write a snapshot into ${dir} (${code}): give another directory`,
      {
        cause: e,
      },
    );
  }
  if (new OfdLock(fd).set(fsConst.F_WRLCK, 0, 0) === 'held') {
    fs.closeSync(fd);
    throw new SnapshotError(
      'ESNAPSHOTDIR',
      `another snapshot is being written into ${dir} right now: wait for it, or give another directory`,
    );
  }
  if (fs.existsSync(path.join(dir, MANIFEST_FILE))) {
    fs.unlinkSync(claimPath); // ours, and no writer's but ours: the lock was free
    fs.closeSync(fd);
    throw new SnapshotError(
      'ESNAPSHOTEXISTS',
      `${dir} already holds a snapshot: give an empty or new directory (or delete the old snapshot)`,
    );
  }
  fs.ftruncateSync(fd, 0); // what a writer that died left
  return { fd, path: claimPath };
}

export interface LoadedSnapshot {
  manifest: SnapshotManifest;
  kvm: HypervisorState;
  devices: DevicesState;
  /** The memory file, checked: map it copy-on-write (MemoryLayout.backingFile). */
  memoryFile: string;
}

/**
 * Read and check a snapshot: the manifest, each file's size and checksum, the KVM state's own
 * checks, and that the parts agree (one saved vCPU per configured vCPU, RAM of the configured
 * size). SnapshotError (or the codec's StateDecodeError) says what is wrong; nothing is started.
 */
export function loadSnapshot(
  dir: string,
  uartFault: (state: Uint8Array) => string | undefined,
): LoadedSnapshot {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(manifestPath, 'utf8');
  } catch {
    throw new SnapshotError(
      'ESNAPSHOTMISSING',
      `${dir} holds no snapshot (no ${MANIFEST_FILE}): give the directory a snapshot was written to`,
    );
  }
  const manifest = parseManifest(text, manifestPath);
  const small = (name: typeof KVM_STATE_FILE | typeof DEVICES_FILE): Buffer => {
    const entry = manifest.files[name];
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(path.join(dir, name));
    } catch {
      throw new SnapshotError('ESNAPSHOTCORRUPT', `the snapshot in ${dir} lacks its ${name}`);
    }
    if (bytes.length !== entry.size || crc32Hex(bytes) !== entry.crc32) {
      throw new SnapshotError(
        'ESNAPSHOTCORRUPT',
        `the snapshot's ${name} in ${dir} does not match its manifest (size or checksum): it was changed or damaged`,
      );
    }
    return bytes;
  };
  const kvm = decodeHypervisorState(small(KVM_STATE_FILE));
  const devices = decodeDevicesState(small(DEVICES_FILE), uartFault);
  const memoryFile = path.join(dir, MEMORY_FILE);
  try {
    verifyMemoryFile(memoryFile, manifest.files[MEMORY_FILE]);
  } catch (e) {
    if (e instanceof VmmError) throw new SnapshotError('ESNAPSHOTCORRUPT', e.message);
    throw e;
  }
  const { config } = manifest;
  if (kvm.vcpus.length !== config.cpus.boot) {
    throw new SnapshotError(
      'ESNAPSHOTMISMATCH',
      `the snapshot in ${dir} saved ${kvm.vcpus.length} vCPUs but its configuration has ${config.cpus.boot}`,
    );
  }
  return { manifest, kvm, devices, memoryFile };
}
