import { UsageError } from './errors';

export interface FlagSpec {
  /** Takes a value (`--kernel PATH` or `--kernel=PATH`). */
  value: boolean;
  /**
   * The value may be left out (`--net` alone: every key at its default): the next argument is
   * taken as the value only when it is not itself a flag.
   */
  optional?: boolean;
  /** May be given more than once. */
  repeat?: boolean;
}

/** Splits argv into flags by a table; unknown flags, missing values and repeats are errors. */
export function parseFlags(
  argv: readonly string[],
  specs: Record<string, FlagSpec>,
): { flags: Map<string, string[]>; positionals: string[] } {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    let value = '';
    if (spec.value) {
      const next = argv[i + 1];
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (spec.optional && (next === undefined || next.startsWith('--'))) value = '';
      else if (next !== undefined) value = argv[++i]!;
      else throw new UsageError(`--${name} needs a value`);
    } else if (eq >= 0) {
      throw new UsageError(`--${name} takes no value`);
    }
    const list = flags.get(name) ?? [];
    if (list.length > 0 && !spec.repeat) throw new UsageError(`--${name} given twice`);
    list.push(value);
    flags.set(name, list);
  }
  return { flags, positionals };
}
