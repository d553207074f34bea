// The directory a library call names for a snapshot: a path, or a file:// URL as the REST API
// takes it (file:///var/snap). Any other URL is refused: written as a path, "http://host/x" made a
// directory named "http:" in the working directory.
import { SnapshotError } from '../snapshot/errors';
import { directoryOfFileUrl } from '../snapshot/dir-url';

export function snapshotDirOf(call: string, where: unknown): string {
  const refuse = (why: string) =>
    new SnapshotError('ESNAPSHOTDIR', `${call}(${JSON.stringify(where) ?? String(where)}): ${why}`);
  if (typeof where !== 'string' || where === '')
    throw refuse('give a directory: a path, or a file:// URL such as file:///var/lib/vmm/snap');
  if (where.startsWith('file:')) {
    const r = directoryOfFileUrl(where);
    if ('problem' in r) throw refuse(r.problem);
    return r.dir;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(where))
    throw refuse('a snapshot is a directory on this host: give its path, or a file:// URL');
  if (where.includes('\0')) throw refuse('the path holds a NUL byte');
  return where;
}
