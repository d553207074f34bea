// koffi bindings to the C library: the system calls the KVM backend makes. Loaded on first use
// (so importing @vmm/hypervisor on a host without glibc costs nothing). Each binding returns the
// raw C result; callers read errno with `lastErrno()` right after the call (koffi saves it).
import koffi from 'koffi';

/** Pointers are BigInt in koffi 3; buffers and typed arrays pass their own address. */
export type Pointer = bigint | null;
export type BufferArg = Uint8Array | null;

export interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  /** ioctl(fd, request, void *arg): arg is a buffer we own (struct in/out). */
  ioctlPtr(fd: number, request: number, arg: BufferArg): number;
  /** ioctl(fd, request, unsigned long arg): integer argument (or none: pass 0). */
  ioctlInt(fd: number, request: number, arg: number | bigint): number;
  mmap(addr: Pointer, len: number, prot: number, flags: number, fd: number, offset: number): bigint;
  munmap(addr: bigint, len: number): number;
  madvise(addr: bigint, len: number, advice: number): number;
  /** madvise on the libuv pool: its result (errno is not kept: make a failed call again to read it). */
  madviseAsync(addr: bigint, len: number, advice: number): Promise<number>;
  memfdCreate(name: string, flags: number): number;
  ftruncate(fd: number, len: number): number;
  /** lseek(fd, offset, whence): the new offset, or -1 with errno (ENXIO: no data/hole past offset). */
  lseek(fd: number, offset: number, whence: number): number;
  eventfd(initval: number, flags: number): number;
  /** pipe2(fds, flags): fds is an Int32Array of 2 that receives [read end, write end]. */
  pipe2(fds: Int32Array, flags: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  gettid(): number;
  getpid(): number;
  tgkill(tgid: number, tid: number, sig: number): number;
  /** pthread_sigmask(how, set, oldset): returns the error number (not -1/errno). */
  pthreadSigmask(how: number, set: BufferArg, oldset: BufferArg): number;
  /** sigtimedwait(set, info, timeout): the signal number, or -1 with errno (EAGAIN on timeout). */
  sigtimedwait(set: Uint8Array, info: BufferArg, timeout: Uint8Array): number;
  /** signal(sig, handler): handler 0n = SIG_DFL, 1n = SIG_IGN; returns the previous handler. */
  signal(sig: number, handler: bigint): bigint;
  sigrtmin(): number;
  strerror(errno: number): string;
  /** prctl(option, arg2, arg3, 0, 0): arg2 a number, arg3 a number or a buffer we own. */
  prctl(option: number, arg2: number, arg3: number | Uint8Array): number;
  /** prlimit(pid, resource, new, old): each limit a struct rlimit (two u64: soft, hard) or null. */
  prlimit(pid: number, resource: number, newLimit: BufferArg, oldLimit: BufferArg): number;
  /** timer_create(clockid, sevp, timerid): 0, or -1 with errno; the timer_t is written to `timerid`. */
  timerCreate(clockid: number, sevp: Uint8Array, timerid: BigUint64Array): number;
  /** timer_settime(timerid, flags, new, old): 0, or -1 with errno. */
  timerSettime(timerid: bigint, flags: number, value: Uint8Array, old: BufferArg): number;
  timerDelete(timerid: bigint): number;
  /** fcntl(fd, cmd, int arg): the commands whose argument is an int (F_GETFL, F_SETFL). */
  fcntlInt(fd: number, cmd: number, arg: number): number;
}

let cached: Libc | undefined;

/** The C library, bound on first call. */
export function libc(): Libc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  const open = lib.func('int open(const char *path, int flags)');
  const close = lib.func('int close(int fd)');
  const ioctlPtr = lib.func('int ioctl(int fd, unsigned long request, void *arg)');
  const ioctlInt = lib.func('int ioctl(int fd, unsigned long request, unsigned long arg)');
  const mmap = lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t offset)');
  const munmap = lib.func('int munmap(void *addr, size_t len)');
  const madvise = lib.func('int madvise(void *addr, size_t len, int advice)');
  const memfdCreate = lib.func('int memfd_create(const char *name, unsigned int flags)');
  const ftruncate = lib.func('int ftruncate(int fd, int64_t len)');
  const lseek = lib.func('int64_t lseek(int fd, int64_t offset, int whence)');
  const eventfd = lib.func('int eventfd(unsigned int initval, int flags)');
  const pipe2 = lib.func('int pipe2(_Out_ int *fds, int flags)');
  const read = lib.func('int64_t read(int fd, void *buf, size_t count)');
  const write = lib.func('int64_t write(int fd, const void *buf, size_t count)');
  const gettid = lib.func('int gettid(void)');
  const getpid = lib.func('int getpid(void)');
  const tgkill = lib.func('int tgkill(int tgid, int tid, int sig)');
  const pthreadSigmask = lib.func('int pthread_sigmask(int how, const void *set, void *oldset)');
  const sigtimedwait = lib.func('int sigtimedwait(const void *set, void *info, const void *timeout)');
  const signal = lib.func('void *signal(int sig, void *handler)');
  const sigrtmin = lib.func('int __libc_current_sigrtmin(void)');
  const strerror = lib.func('const char *strerror(int errnum)');
  const prctlInt = lib.func(
    'int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)',
  );
  const prctlPtr = lib.func(
    'int prctl(int option, unsigned long arg2, void *arg3, unsigned long arg4, unsigned long arg5)',
  );
  const prlimit = lib.func('int prlimit(int pid, int resource, const void *newLimit, void *oldLimit)');
  const timerCreate = lib.func('int timer_create(int clockid, void *sevp, void *timerid)');
  const timerSettime = lib.func(
    'int timer_settime(uintptr_t timerid, int flags, const void *value, void *old)',
  );
  const timerDelete = lib.func('int timer_delete(uintptr_t timerid)');
  const fcntlInt = lib.func('int fcntl(int fd, int cmd, int arg)');
  const num = (v: unknown): number => Number(v);
  cached = {
    open: (p, f) => open(p, f) as number,
    close: (fd) => close(fd) as number,
    ioctlPtr: (fd, r, a) => ioctlPtr(fd, r, a) as number,
    ioctlInt: (fd, r, a) => ioctlInt(fd, r, a) as number,
    mmap: (a, l, p, f, fd, o) => {
      const r = mmap(a, l, p, f, fd, o) as bigint | null;
      return r ?? 0n;
    },
    munmap: (a, l) => munmap(a, l) as number,
    madvise: (a, l, adv) => madvise(a, l, adv) as number,
    madviseAsync: (a, l, adv) =>
      new Promise((resolve, reject) =>
        madvise.async(a, l, adv, (err: unknown, r: unknown) => (err ? reject(err) : resolve(r as number))),
      ),
    memfdCreate: (n, f) => memfdCreate(n, f) as number,
    ftruncate: (fd, l) => ftruncate(fd, l) as number,
    lseek: (fd, o, w) => Number(lseek(fd, o, w)),
    eventfd: (i, f) => eventfd(i, f) as number,
    pipe2: (fds, f) => pipe2(fds, f) as number,
    read: (fd, b, c) => num(read(fd, b, c)),
    write: (fd, b, c) => num(write(fd, b, c)),
    gettid: () => gettid() as number,
    getpid: () => getpid() as number,
    tgkill: (g, t, s) => tgkill(g, t, s) as number,
    pthreadSigmask: (h, s, o) => pthreadSigmask(h, s, o) as number,
    sigtimedwait: (s, i, t) => sigtimedwait(s, i, t) as number,
    signal: (s, h) => (signal(s, h) as bigint | null) ?? 0n,
    sigrtmin: () => sigrtmin() as number,
    strerror: (e) => strerror(e) as string,
    prctl: (o, a2, a3) =>
      (typeof a3 === 'number' ? prctlInt(o, a2, a3, 0, 0) : prctlPtr(o, a2, a3, 0, 0)) as number,
    prlimit: (p, r, n, o) => prlimit(p, r, n, o) as number,
    timerCreate: (c, e, t) => timerCreate(c, e, t) as number,
    timerSettime: (t, f, v, o) => timerSettime(t, f, v, o) as number,
    timerDelete: (t) => timerDelete(t) as number,
    fcntlInt: (fd, c, a) => fcntlInt(fd, c, a) as number,
  };
  return cached;
}

/** errno of the last koffi call on this thread. Read it right after the call that failed. */
export function lastErrno(): number {
  return koffi.errno();
}

/** A zero-copy view of `len` bytes of host memory at `address` (mmap'ed memory we own). */
export function hostView(address: bigint, len: number): ArrayBuffer {
  return koffi.view(address, len);
}

/** The address of a buffer's first byte (for structs that carry a userspace pointer). */
export function addressOf(buf: Uint8Array): bigint {
  return koffi.address(buf);
}

/** mmap's MAP_FAILED, as koffi returns it. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

// include/uapi/asm-generic/mman-common.h and mman.h (x86_64 and arm64 alike): mmap's arguments.
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
/** madvise(2): fault the range in writable now, breaking copy-on-write (Linux 5.14). */
export const MADV_POPULATE_WRITE = 23;
