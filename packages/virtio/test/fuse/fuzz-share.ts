// Tests only: the share the FUSE fuzz target serves (src/fs/request.fuzz-target.ts), also laid out
// by record-corpus.ts when it records the kernel's requests, so that the node ids in a recorded
// stream name the same files for the target.
import fs from 'node:fs';
import path from 'node:path';

export const SECRET = 'SECRET-outside-the-share';

/** `outside` with a secret file and a directory; `share` with files, a directory, a hard link and
 *  symlinks leading outside (absolute and relative). */
export function populateShare(share: string, outside: string): void {
  if (!fs.existsSync(path.join(outside, 'secret'))) {
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'secret'), SECRET);
    fs.mkdirSync(path.join(outside, 'dir'));
    fs.writeFileSync(path.join(outside, 'dir/file'), SECRET);
  }
  fs.mkdirSync(share);
  fs.writeFileSync(path.join(share, 'a'), 'alpha');
  fs.writeFileSync(path.join(share, 'b'), 'beta beta beta');
  fs.mkdirSync(path.join(share, 'd'));
  fs.writeFileSync(path.join(share, 'd/c'), 'gamma');
  fs.symlinkSync(path.join(outside, 'secret'), path.join(share, 'abs'));
  fs.symlinkSync('../outside', path.join(share, 'rel'));
  fs.linkSync(path.join(share, 'a'), path.join(share, 'd/hard'));
}
