// Fuzz target: parseManifest, which reads a snapshot's manifest.json (a file anyone could have
// edited) before anything else of the snapshot is used. Input: the file's bytes, read as UTF-8 as
// loadSnapshot reads them. Contract: it returns a manifest or throws a SnapshotError with one of the
// codes a manifest can earn (ESNAPSHOTCORRUPT, ESNAPSHOTVERSION, ESNAPSHOTMISMATCH), nothing else;
// a manifest it returns is within what a restore can build (vCPUs 1..MAX_VCPUS, a RAM size a VM
// can have, a memory file of exactly that size, well-formed file entries and COM1 output), and
// written back as saveSnapshot writes it, it parses to the same manifest.
import { isDeepStrictEqual } from 'node:util';
import { MAX_RAM_SIZE, MIN_RAM_SIZE } from '../arch/x86_64/memory-map';
import { MAX_VCPUS, type VmConfig } from '../config';
import { SnapshotError } from './errors';
import {
  DEVICES_FILE,
  KVM_STATE_FILE,
  MEMORY_FILE,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  createManifest,
  formatManifest,
  parseManifest,
  type SnapshotManifest,
} from './manifest';

const CODES = new Set(['ESNAPSHOTCORRUPT', 'ESNAPSHOTVERSION', 'ESNAPSHOTMISMATCH']);
const WHERE = '/snapshots/a/manifest.json';

function fail(why: string): never {
  throw new Error(`contract: ${why}`);
}

export function fuzz(data: Uint8Array): void {
  const text = Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8');
  let m: SnapshotManifest;
  try {
    m = parseManifest(text, WHERE);
  } catch (e) {
    if (e instanceof SnapshotError && CODES.has(e.code) && e.message.length > 0) return;
    throw e;
  }
  if (m.format !== SNAPSHOT_FORMAT || m.version !== SNAPSHOT_VERSION) fail('another format taken');
  if (m.arch !== 'x86_64' || m.backend !== 'kvm') fail('another arch or backend taken');
  const { cpus, memory, serial } = m.config;
  if (!(Number.isInteger(cpus.boot) && cpus.boot >= 1 && cpus.boot <= MAX_VCPUS))
    fail(`${cpus.boot} vCPUs taken`);
  if (!(Number.isSafeInteger(memory.size) && memory.size >= MIN_RAM_SIZE && memory.size <= MAX_RAM_SIZE))
    fail(`RAM of ${memory.size} bytes taken`);
  if (memory.size % 4096 !== 0) fail(`RAM of ${memory.size} bytes, not whole pages, taken`);
  if (!['tty', 'file', 'capture', 'off', 'null'].includes(serial.mode))
    fail(`serial mode ${serial.mode} taken`);
  if (serial.mode === 'file' && typeof serial.path !== 'string')
    fail('serial to a file without a path taken');
  for (const name of [KVM_STATE_FILE, DEVICES_FILE] as const) {
    const f = m.files[name];
    if (!(Number.isSafeInteger(f.size) && f.size >= 0) || !/^[0-9a-f]{8}$/.test(f.crc32))
      fail(`a malformed entry of ${name} taken`);
  }
  const ram = m.files[MEMORY_FILE];
  if (!/^[0-9a-f]{8}$/.test(ram.crc32)) fail(`a malformed entry of ${MEMORY_FILE} taken`);
  if (ram.size !== memory.size) fail(`a memory file of ${ram.size} bytes for ${memory.size} of RAM taken`);
  if (!(Number.isSafeInteger(ram.dataBytes) && ram.dataBytes >= 0 && ram.dataBytes <= ram.size))
    fail(`dataBytes ${ram.dataBytes} taken`);
  const again = parseManifest(formatManifest(m), WHERE);
  if (!isDeepStrictEqual(again, m)) fail('a taken manifest, written back, parses to another');
}

export const maxLength = 4096;

const MIB = 1024 * 1024;
const crc = (c: string) => c.repeat(8);

/** Manifests as saveSnapshot writes them (createManifest, formatManifest), for configs of each kind. */
export function seeds(): Uint8Array[] {
  const small: VmConfig = {
    kernel: '/k/vmlinux',
    cmdline: 'console=ttyS0',
    cpus: { boot: 1 },
    memory: { size: 64 * MIB },
    serial: { mode: 'tty' },
    noReboot: false,
    hostQuirks: 'auto',
  };
  const full: VmConfig = {
    kernel: '/k/bzImage',
    initrd: '/k/initrd.cpio',
    cmdline: 'console=ttyS0 quiet',
    cpus: { boot: 4 },
    memory: { size: 5 * 1024 * MIB }, // past the 32-bit hole: two ranges
    serial: { mode: 'file', path: '/tmp/serial.log', max: 1 << 20 },
    noReboot: true,
    hostQuirks: 'off',
    disks: [
      { path: '/d/root.img', serial: 'root', discard: 'ignore', pollUs: 500 },
      { path: '/d/data.img', readonly: true },
    ],
    nets: [
      {
        mac: '52:54:00:12:34:56',
        mtu: 9000,
        hostLoopback: true,
        dns: { address: '1.1.1.1', port: 53 },
        hostForwards: [
          { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8022, guestAddress: 0, guestPort: 22 },
        ],
        deny: { host: true, linkLocal: true, networks: [{ network: 0x0a000000, prefixLength: 8 }] },
      },
      { tap: 'tap0' },
    ],
    console: { mode: 'capture' },
    rng: true,
    vsock: { cid: 3, socket: '/tmp/v.sock', agent: true },
    shares: [{ tag: 'src', path: '/src', readonly: true, cache: 'never' }],
    seccomp: 'log',
  };
  const at = new Date(Date.UTC(2026, 11, 2));
  const files = (ram: number, data: number): SnapshotManifest['files'] => ({
    [MEMORY_FILE]: { size: ram, crc32: '0a1b2c3d', dataBytes: data },
    [KVM_STATE_FILE]: { size: 7168, crc32: crc('b') },
    [DEVICES_FILE]: { size: 412, crc32: crc('c') },
  });
  return [
    createManifest(small, files(64 * MIB, 3 * MIB), at),
    createManifest(full, files(5 * 1024 * MIB, 40 * MIB), at),
  ].map((m) => Buffer.from(formatManifest(m)));
}
