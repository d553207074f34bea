// The host's resolver configuration: the first IPv4 `nameserver` line of resolv.conf(5).
import fs from 'node:fs';

export function hostNameserver(path = '/etc/resolv.conf'): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}
