// What a monitor did to a disk image and its console, in order, read from an strace log
// (strace(1), Debian's strace): `strace -f -y -o LOG` of the monitor records each write to the
// image, each fdatasync/fsync of it and each byte written (write, writev) to the console fd, in
// the order the kernel saw them. That order is the proof that a FLUSH was made durable before the guest was told
// it completed: the guest can only print its FLUSH status after the completion, so every console
// byte of that line must come after the sync returned.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const hasStrace = spawnSync('strace', ['-V']).status === 0;

/** strace options for parseSyncTrace (put the traced command after them, behind `--`). */
export function straceSyncArgs(log: string): string[] {
  return [
    '-f', // every thread: libuv's pool runs the file I/O, a vCPU thread may write the console
    '--seccomp-bpf', // only the traced calls stop the tracee
    '-qq',
    '-y', // file descriptors with their paths: `5</tmp/x/disk.img>`
    '-s',
    '4096', // console bytes are printed whole (image data strings too: a few lines only)
    '-e',
    'trace=fdatasync,fsync,write,writev,pwrite64,pwritev,pwritev2',
    '-e',
    'signal=none',
    '-o',
    log,
    // libuv submits file I/O through io_uring when this is 1 (off by default in Node 20): strace
    // would then see no pwritev/fdatasync. Pin the default, so the calls are visible.
    '-E',
    'UV_USE_IO_URING=0',
  ];
}

/**
 * How strace -y names file descriptor `fd` of process `pid` (e.g. `1<pipe:[4242]>`, or `1<socket:[4242]>` for stdio node made): what
 * parseSyncTrace takes to tell the monitor's console from another process's fd 1 (tsx's esbuild
 * service, a child of the monitor, is traced too and writes to its own stdout pipe).
 */
export function fdToken(pid: number, fd: number): string {
  return `${fd}<${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}>`;
}

/** The traced process (strace's only child) of the strace process `stracePid`, or undefined. */
export function traceePid(stracePid: number): number | undefined {
  // /proc/PID/stat, not task/PID/children: that file needs CONFIG_PROC_CHILDREN, which the
  // nested-KVM host's kernel does not have. Field 4 (ppid) follows the ")" ending the name.
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === stracePid) return Number(entry);
  }
  return undefined;
}

export interface ImageSync {
  call: 'fdatasync' | 'fsync';
  /** The call's return value (0 = success). */
  ret: number;
  /** Bytes written to the image (pwrite*, write) that had returned before this sync returned. */
  imageBytesBefore: number;
  /** Console bytes written before this sync returned: an index into SyncTrace.console. */
  consoleAt: number;
}

export interface SyncTrace {
  /** Syncs of the image, in the order they returned. */
  syncs: ImageSync[];
  /** Bytes written to the image in all. */
  imageBytes: number;
  /** Everything written to the console fd, in order (each write counted when it began). */
  console: string;
}

/** A C string literal as strace prints it (\n, \t, \", \\, \ooo, \xNN escapes) back to text. */
function unescapeC(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return { n: '\n', r: '\r', t: '\t', v: '\v', f: '\f' }[e] ?? e;
  });
}

/** `= N` or `= -1 EIO (Input/output error)` at the end of a line, nothing else (data strings may hold `) = `). */
const RESULT = String.raw`\) += (-?\d+)(?: E[A-Z0-9]+ \([^)]*\))?$`;
const ENTRY = new RegExp(String.raw`^(\w+)\((.*?)(?: <unfinished \.\.\.>$|${RESULT})`);
const RESUMED = new RegExp(String.raw`^<\.\.\. (\w+) resumed>.*?${RESULT}`);

/**
 * Reads an strace log made with straceSyncArgs: `image` is the disk image's path (compared with
 * the `<path>` strace prints, so pass its real path); `console` is the console's fd as strace
 * prints it (fdToken: fd 1 of `vmm run --serial tty`), or `<PATH>` for any fd on the file PATH
 * (a console written to a file).
 */
export function parseSyncTrace(logText: string, image: string, console: string): SyncTrace {
  const onImage = `<${image}>`;
  const isConsole = (fdArg: string) =>
    console.startsWith('<') ? fdArg.endsWith(console) : fdArg === console;
  const t: SyncTrace = { syncs: [], imageBytes: 0, console: '' };
  const pending = new Map<string, { name: string; args: string }>();
  const exit = (name: string, args: string, ret: number): void => {
    const fdArg = args.split(', ')[0] ?? '';
    if (!fdArg.endsWith(onImage)) return;
    if (name === 'fdatasync' || name === 'fsync') {
      t.syncs.push({ call: name, ret, imageBytesBefore: t.imageBytes, consoleAt: t.console.length });
    } else if (ret > 0) t.imageBytes += ret;
  };
  const entry = (name: string, args: string): void => {
    if (!isConsole(args.split(', ')[0] ?? '')) return;
    // write(fd, "bytes", n) (our monitor's UART) or writev(fd, [{iov_base="bytes", ...}, ...], n) (QEMU's)
    const strings =
      name === 'write'
        ? /^[^,]*, "((?:[^"\\]|\\.)*)"/g
        : name === 'writev'
          ? /iov_base="((?:[^"\\]|\\.)*)"/g
          : undefined;
    if (!strings) return;
    for (const m of args.matchAll(strings)) t.console += unescapeC(m[1]!);
  };
  for (const line of logText.split('\n')) {
    const sp = /^(\d+) +(.*)$/.exec(line);
    if (!sp) continue;
    const [, pid, rest] = sp as unknown as [string, string, string];
    let m: RegExpExecArray | null;
    if ((m = RESUMED.exec(rest))) {
      const p = pending.get(pid);
      pending.delete(pid);
      if (p && p.name === m[1]) exit(p.name, p.args, Number(m[2]));
    } else if ((m = ENTRY.exec(rest))) {
      const [, name, args, ret] = m as unknown as [string, string, string, string | undefined];
      entry(name, args);
      if (ret === undefined) pending.set(pid, { name, args });
      else exit(name, args, Number(ret));
    }
  }
  return t;
}
