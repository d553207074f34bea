import { VmmError } from '@vmm/hypervisor';

/**
 * A snapshot that cannot be taken or restored. Codes: ESNAPSHOTMISSING (no snapshot there),
 * ESNAPSHOTCORRUPT (a file changed, truncated or malformed), ESNAPSHOTVERSION (another format
 * version), ESNAPSHOTMISMATCH (another arch or backend, or parts that disagree),
 * ESNAPSHOTUNSUPPORTED (the VM has something this version cannot snapshot), ESNAPSHOTEXISTS (the
 * destination already holds a snapshot), ESNAPSHOTDIR (the destination is a file or cannot be
 * made), ESNAPSHOTWRITE (writing it failed, e.g. a full disk: nothing of it is kept).
 */
export class SnapshotError extends VmmError {}
