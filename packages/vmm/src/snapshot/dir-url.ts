// The directory a snapshot is written to or read from, as a file:// URL names it (Cloud
// Hypervisor's destination_url and source_url: "file:///var/snap"): only the full form with an
// absolute path and nothing else (no host, query or fragment). The API reads its bodies with it;
// the library takes such a URL where it takes a directory.
import { fileURLToPath } from 'node:url';

/** The URL's absolute path, or what is wrong with it (a sentence's end). */
export function directoryOfFileUrl(text: string): { dir: string } | { problem: string } {
  let url: URL | undefined;
  try {
    // WHATWG URL parsing takes "file:x" as file:///x: only the full form is taken.
    url = text.startsWith('file://') ? new URL(text) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'file:' || url.host !== '' || url.search !== '' || url.hash !== '')
    return { problem: 'give a file:// URL of a directory, e.g. file:///var/lib/vmm/snap' };
  let dir: string;
  try {
    dir = fileURLToPath(url);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  if (dir.includes('\0')) return { problem: 'it holds a NUL byte' };
  return { dir };
}
