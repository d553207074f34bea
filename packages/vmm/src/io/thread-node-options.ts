// The Node options our vCPU and device threads start with: the process's own, without its
// preloads. Those threads run only our code, under a seccomp filter that ends the process at a
// system call outside its list, and a preload runs in every worker by default: tsx's connects a
// socket in each, and that connection completing in a vCPU thread after its filter was installed
// (libuv's getsockopt) killed the process with SIGSYS. Node applies NODE_OPTIONS' preloads to
// workers too, so the threads' environment carries a NODE_OPTIONS without them.
//
// Inherited, a worker takes the process's options as they are; given, Node refuses the V8 and
// per-process ones (--max-old-space-size, --title, --trace-gc: ERR_WORKER_INVALID_EXEC_ARGV),
// which apply to the whole process anyway. So execArgv is given only when it loses a preload, and
// a list Node refuses loses the options it names (withoutRefused).

/** The options that load code into every thread, each followed by its value (or `=value`). */
const PRELOADS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);

/** `args` without its preload options (`--require x`, `--import=x`, ...); the rest in order. */
export function withoutPreloads(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    if (!PRELOADS.has(eq > 0 ? a.slice(0, eq) : a)) out.push(a);
    else if (eq < 0) i++; // its value is the next argument
  }
  return out;
}

/** NODE_OPTIONS split as Node splits it: on white space, with "double quotes" and \-escapes in them. */
export function splitNodeOptions(s: string): string[] {
  const out: string[] = [];
  let token: string | undefined;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === '\\' && i + 1 < s.length) token = (token ?? '') + s[++i];
    else if (c === '"') {
      quoted = !quoted;
      token ??= '';
    } else if (!quoted && /\s/.test(c)) {
      if (token !== undefined) out.push(token);
      token = undefined;
    } else token = (token ?? '') + c;
  }
  if (token !== undefined) out.push(token);
  return out;
}

/** `args` as a NODE_OPTIONS value, quoting what needs it. */
export function joinNodeOptions(args: readonly string[]): string {
  return args.map((a) => (a !== '' && !/[\s"\\]/.test(a) ? a : `"${a.replace(/["\\]/g, '\\$&')}"`)).join(' ');
}

/**
 * execArgv where it loses a preload, and env where NODE_OPTIONS does, for a thread of ours: the
 * process's, less the preloads. Without a preload to drop, each is left to Node (it inherits
 * execArgv and copies the environment itself; a copy here costs ~0.1 ms of each spawn).
 */
export function threadNodeOptions(): { execArgv?: string[]; env?: NodeJS.ProcessEnv } {
  const out: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {};
  const execArgv = withoutPreloads(process.execArgv);
  if (execArgv.length !== process.execArgv.length) out.execArgv = execArgv;
  const given = process.env.NODE_OPTIONS;
  if (!given) return out;
  const tokens = splitNodeOptions(given);
  const kept = withoutPreloads(tokens);
  if (kept.length !== tokens.length) out.env = { ...process.env, NODE_OPTIONS: joinNodeOptions(kept) };
  return out;
}

/**
 * `execArgv` without the options `refusal` names, when it is Node's refusal of a worker's
 * execArgv (ERR_WORKER_INVALID_EXEC_ARGV: "... invalid execArgv flags: a, b"); else undefined.
 */
export function withoutRefused(execArgv: readonly string[], refusal: unknown): string[] | undefined {
  const e = refusal as { code?: unknown; message?: unknown } | null;
  if (e?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || typeof e.message !== 'string') return undefined;
  const m = /invalid execArgv flags: (.*)$/s.exec(e.message);
  if (!m) return undefined;
  const refused = new Set(m[1]!.split(', '));
  const kept = execArgv.filter((a) => !refused.has(a));
  return kept.length < execArgv.length ? kept : undefined;
}
