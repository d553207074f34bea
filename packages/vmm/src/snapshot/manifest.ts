// A snapshot directory's manifest (manifest.json): what the snapshot is (format, version, arch),
// the VM's configuration, and each file with its size and checksum (a CRC-32: it finds damage; one
// who can edit a file can edit the manifest beside it, so no checksum here would find tampering.
// The memory file's is of its content, holes as zeros, checked at the speed of reading its data:
// memory-file.ts). It is
// written last, so a snapshot cut short has none and is refused; on the way back in every field is
// checked before anything is used (a snapshot is a file anyone could have edited).
import type { VmConfig } from '../config';
import { configFault } from '../config-shape';
import { SnapshotError } from './errors';
import { SNAPSHOT_VERSION } from './version';

export const SNAPSHOT_FORMAT = 'vmm-snapshot';
export { SNAPSHOT_VERSION } from './version';
export const MANIFEST_FILE = 'manifest.json';
/** Guest RAM (memory-file.ts in @vmm/hypervisor: the ranges in order, zero pages as holes). */
export const MEMORY_FILE = 'memory';
/** The KVM state of the VM and its vCPUs (@vmm/hypervisor's state codec). */
export const KVM_STATE_FILE = 'kvm.state';
/** The monitor's own devices (devices.ts). */
export const DEVICES_FILE = 'devices.json';

export interface SnapshotFileEntry {
  size: number;
  /** CRC-32 of the file: 8 hex digits. */
  crc32: string;
}

export interface MemoryFileEntry {
  size: number;
  /** CRC-32 of the image, holes as zeros: 8 hex digits (@vmm/hypervisor's image-crc.ts). */
  crc32: string;
  /** Bytes of the pages stored (not all zero). */
  dataBytes: number;
}

export interface SnapshotManifest {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  arch: 'x86_64';
  backend: 'kvm';
  /** ISO 8601. */
  createdAt: string;
  /** The VM's configuration as it ran (a restore takes it, with the output redirected as asked). */
  config: VmConfig;
  files: {
    [MEMORY_FILE]: MemoryFileEntry;
    [KVM_STATE_FILE]: SnapshotFileEntry;
    [DEVICES_FILE]: SnapshotFileEntry;
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isCrc = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{8}$/.test(v);

/** Parse and check a manifest's text; SnapshotError names the first thing wrong. */
export function parseManifest(text: string, where: string): SnapshotManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new SnapshotError('ESNAPSHOTCORRUPT', `${where} is not JSON: the snapshot is damaged`);
  }
  const bad = (what: string): never => {
    throw new SnapshotError('ESNAPSHOTCORRUPT', `${where}: ${what}: the snapshot is damaged or not ours`);
  };
  if (!isObject(m) || m.format !== SNAPSHOT_FORMAT) return bad(`format is not "${SNAPSHOT_FORMAT}"`);
  if (m.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(
      'ESNAPSHOTVERSION',
      `${where} is snapshot format version ${String(m.version)}; this vmm restores version ${SNAPSHOT_VERSION} only`,
    );
  }
  if (m.arch !== 'x86_64' || m.backend !== 'kvm') {
    throw new SnapshotError(
      'ESNAPSHOTMISMATCH',
      `${where} is a ${String(m.arch)}/${String(m.backend)} snapshot; this host restores x86_64/kvm ones`,
    );
  }
  if (typeof m.createdAt !== 'string') bad('createdAt is missing');
  const fault = configFault(m.config);
  if (fault !== undefined) bad(`config${fault.field ? `.${fault.field}` : ''} is missing or malformed`);
  const files = m.files;
  if (!isObject(files)) return bad('files is missing');
  for (const name of [KVM_STATE_FILE, DEVICES_FILE]) {
    const f = files[name];
    if (!isObject(f) || !isSize(f.size) || !isCrc(f.crc32))
      bad(`the entry of ${name} is missing or malformed`);
  }
  const memory = files[MEMORY_FILE];
  if (!isObject(memory) || !isSize(memory.size) || !isCrc(memory.crc32))
    return bad(`the entry of ${MEMORY_FILE} is missing or malformed`);
  if (!isSize(memory.dataBytes) || memory.dataBytes > memory.size)
    bad('the memory entry has no dataBytes within its size');
  // The memory file is the RAM's ranges one after another: exactly the configured RAM, so the
  // restored VM maps no page past its end.
  if (memory.size !== (m.config as VmConfig).memory.size)
    bad(`the memory file's size is not the configured RAM's`);
  return m as unknown as SnapshotManifest;
}

/** The manifest of a snapshot of a VM running `config` whose files are `files`. */
export function createManifest(
  config: VmConfig,
  files: SnapshotManifest['files'],
  createdAt = new Date(),
): SnapshotManifest {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    arch: 'x86_64',
    backend: 'kvm',
    createdAt: createdAt.toISOString(),
    config,
    files,
  };
}

/** manifest.json's text: indented, for a person who opens it. */
export function formatManifest(m: SnapshotManifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}
