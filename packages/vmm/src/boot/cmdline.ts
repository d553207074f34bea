// The kernel command line as the monitor composes it: parameters it adds go before a `--`, past
// which the kernel hands every word to init (Documentation/admin-guide/kernel-parameters.rst).

/** The kernel's words, and the rest from the first `--` on (the `--` included; empty without one). */
export function splitCmdline(cmdline: string): { kernel: string[]; rest: string[] } {
  const words = cmdline.split(/\s+/).filter((w) => w !== '');
  const split = words.indexOf('--');
  return split < 0
    ? { kernel: words, rest: [] }
    : { kernel: words.slice(0, split), rest: words.slice(split) };
}

/** `cmdline` with `params` added to the kernel's part (before any `--`). */
export function withKernelParams(cmdline: string, params: readonly string[]): string {
  const { kernel, rest } = splitCmdline(cmdline);
  return [...kernel, ...params, ...rest].join(' ');
}
