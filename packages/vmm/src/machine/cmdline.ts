// The kernel command line as the monitor composes it: parameters it adds go before a `--`, past
// which the kernel hands every word to init (Documentation/admin-guide/kernel-parameters.rst).

/** `cmdline` with `params` added to the kernel's part (before any `--`). */
export function withKernelParams(cmdline: string, params: readonly string[]): string {
  const words = cmdline.split(/\s+/).filter((w) => w !== '');
  const split = words.indexOf('--');
  if (split < 0) return [...words, ...params].join(' ');
  return [...words.slice(0, split), ...params, ...words.slice(split)].join(' ');
}
