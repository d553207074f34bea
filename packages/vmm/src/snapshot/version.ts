// The snapshot format's version, alone: the library exports it without loading the snapshot code.
/** Bump on any change to the files or their meaning; a restore refuses every other version. */
// 2: the memory file's checksum is a CRC-32 of its content (was SHA-256 by page).
// 3: kvm.state's and devices.json's are CRC-32s too (were SHA-256): a restore then loads no
// node:crypto (~2.5 ms of `vmm run --restore`'s start), and node:zlib, which the memory's needs, does both.
export const SNAPSHOT_VERSION = 3;
