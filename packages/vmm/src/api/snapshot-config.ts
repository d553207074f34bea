// The bodies of vm.snapshot (VmSnapshotConfig) and vm.restore (RestoreConfig), as in
// cloud-hypervisor.yaml: a file:// URL naming a directory on this host ("file:///var/snap"),
// read into its absolute path. Only the fields we can honour are taken.
import { directoryOfFileUrl } from '../snapshot/dir-url';
import { JsonObject } from './json-fields';

export interface RestoreRequest {
  sourceDir: string;
  /** Resume the restored VM at once (Cloud Hypervisor's `resume`; default false: it stays paused). */
  resume: boolean;
  /** Copy the snapshot's stored guest pages in during the restore (Cloud Hypervisor's `prefault`; default false). */
  prefault: boolean;
}

export function snapshotFromCh(body: unknown): string {
  const o = JsonObject.of(body, 'vm.snapshot').only(['destination_url']);
  return directoryOf(o, 'destination_url');
}

export function restoreFromCh(body: unknown): RestoreRequest {
  const o = JsonObject.of(body, 'vm.restore').only(['source_url', 'resume', 'prefault']);
  return {
    sourceDir: directoryOf(o, 'source_url'),
    resume: o.boolean('resume') ?? false,
    prefault: o.boolean('prefault') ?? false,
  };
}

/** A file:// URL with an absolute path and nothing else (no host, query or fragment). */
function directoryOf(o: JsonObject, key: string): string {
  const text = o.string(key, { required: true, nonEmpty: true });
  const r = directoryOfFileUrl(text);
  if ('problem' in r) throw o.refuse(key, `is '${text.slice(0, 200)}': ${r.problem}`);
  return r.dir;
}
