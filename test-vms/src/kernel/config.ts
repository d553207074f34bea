// Kconfig fragments: `CONFIG_X=value` sets an option, `# CONFIG_X is not set` clears it
// (Documentation/kbuild/kconfig.rst). After `make olddefconfig` an option we asked for can be
// silently dropped (a missing dependency, a select from elsewhere); droppedOptions() names them.

/** Option name to wanted value; `undefined` for "is not set". */
export type KconfigValues = Map<string, string | undefined>;

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

export function parseKconfig(text: string): KconfigValues {
  const out: KconfigValues = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = SET.exec(line);
    if (set) {
      out.set(set[1]!, set[2]!);
      continue;
    }
    const unset = UNSET.exec(line);
    if (unset) out.set(unset[1]!, undefined);
  }
  return out;
}

/** The fragment's lines that the final .config does not honour, as readable strings. */
export function droppedOptions(fragment: KconfigValues, final: KconfigValues): string[] {
  const dropped: string[] = [];
  for (const [name, want] of fragment) {
    const got = final.get(name);
    if (want === undefined || want === 'n') {
      if (got !== undefined && got !== 'n') dropped.push(`${name} is ${got}, wanted not set`);
    } else if (got !== want) {
      dropped.push(`${name} is ${got === undefined ? 'not set' : got}, wanted ${want}`);
    }
  }
  return dropped;
}
