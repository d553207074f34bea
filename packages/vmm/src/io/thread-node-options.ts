// The Node options our vCPU and device threads start with: the process's own, without its
// preloads. Those threads run only our code, under a seccomp filter that ends the process at a
// system call outside its list, and a preload runs in every worker by default: tsx's connects a
// socket in each, and that connection completing in a vCPU thread after its filter was installed
// (libuv's getsockopt) killed the process with SIGSYS. Node applies NODE_OPTIONS' preloads to
// workers too, so the threads' environment carries a NODE_OPTIONS without them.

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
 * execArgv, and env where NODE_OPTIONS loses a preload, for a thread of ours: the process's, less
 * the preloads. Without a preload to drop, env is left to Node (it copies the environment itself;
 * a copy here costs ~0.1 ms of each spawn).
 */
export function threadNodeOptions(): { execArgv: string[]; env?: NodeJS.ProcessEnv } {
  const execArgv = withoutPreloads(process.execArgv);
  const given = process.env.NODE_OPTIONS;
  if (!given) return { execArgv };
  const tokens = splitNodeOptions(given);
  const kept = withoutPreloads(tokens);
  if (kept.length === tokens.length) return { execArgv };
  return { execArgv, env: { ...process.env, NODE_OPTIONS: joinNodeOptions(kept) } };
}
