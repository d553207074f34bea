// Linux signal numbers, which the agent sends in EXIT (include/uapi/asm-generic/signal.h; x86_64
// uses the same numbers for 1-31). Index = signal number. linux-errno.test.ts checks them against a
// Linux host's.
const NAMES: readonly string[] = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

/** 'SIGTERM' for 15; real-time and unknown signals as 'SIG<number>'. */
export function linuxSignalName(signal: number): string {
  const name = Number.isInteger(signal) && signal > 0 ? NAMES[signal] : undefined;
  return name ? name : `SIG${signal}`;
}
