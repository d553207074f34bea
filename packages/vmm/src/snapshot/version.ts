// The snapshot format's version, alone: the library exports it without loading the snapshot code.
/** Bump on any change to the files or their meaning; a restore refuses every other version. */
export const SNAPSHOT_VERSION = 2; // 2: the memory file's checksum is a CRC-32 of its content (was SHA-256 by page)
