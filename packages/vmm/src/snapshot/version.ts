// The snapshot format's version, alone: the library exports it without loading the snapshot code.
/** Bump on any change to the files or their meaning; a restore refuses every other version. */
export const SNAPSHOT_VERSION = 1;
