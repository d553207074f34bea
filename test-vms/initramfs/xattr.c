/*
 * xattr: extended attributes from the shell of the test initramfs, which has no setfattr or
 * getfattr (Debian's busybox-static builds neither), so that the virtio-fs tests can send FUSE
 * SETXATTR, GETXATTR, LISTXATTR and REMOVEXATTR from inside the guest:
 *
 *   xattr set PATH NAME VALUE   setxattr(2), flags 0 (create or replace)
 *   xattr get PATH NAME         getxattr(2): the value, then a newline
 *   xattr list PATH             listxattr(2): each name on a line of its own
 *   xattr rm PATH NAME          removexattr(2)
 *
 * Exits 0; 1 when the call fails, after "xattr: <op>: <errno name>" on stderr (ENODATA,
 * EOPNOTSUPP, EROFS, ..., or "errno N" for one without a name here); 2 on a usage error. A
 * symbolic link is followed, as setfattr and getfattr do.
 *
 * Freestanding, as ../kernel/probes/syscall-via-fault.c, and built the same way by
 * test-vms/src/initramfs/build.ts. The x86-64 syscall ABI: number in RAX, arguments in RDI, RSI,
 * RDX, R10, R8; the result, or -errno, in RAX (arch/x86/entry/entry_64.S). The numbers are
 * arch/x86/entry/syscalls/syscall_64.tbl's; the errno values include/uapi/asm-generic/errno*.h's.
 */

#define SYS_write 1
#define SYS_exit 60
#define SYS_setxattr 188
#define SYS_getxattr 191
#define SYS_listxattr 194
#define SYS_removexattr 197

#define EIO 5
#define ERANGE 34

/* The largest value `get` prints and the longest name list `list` prints; more is ERANGE. */
#define VALUE_MAX 4096
#define LIST_MAX 8192

__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");

static long sys5(long nr, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static __attribute__((noreturn)) void sys_exit(int code)
{
	sys5(SYS_exit, code, 0, 0, 0, 0);
	__builtin_unreachable();
}

static unsigned long length(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static int same(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++)
		;
	return *a == *b;
}

/* All of buf to fd; 0, or -errno. */
static long write_all(int fd, const char *buf, unsigned long len)
{
	while (len > 0) {
		long n = sys5(SYS_write, fd, (long)buf, (long)len, 0, 0);

		if (n < 0)
			return n;
		if (n == 0)
			return -EIO; /* nothing written, and no error to say why */
		buf += n;
		len -= (unsigned long)n;
	}
	return 0;
}

static void put(int fd, const char *s)
{
	write_all(fd, s, length(s));
}

static const struct {
	long nr;
	const char *name;
} errno_names[] = {
	{ 1, "EPERM" },
	{ 2, "ENOENT" },
	{ 5, "EIO" },
	{ 7, "E2BIG" },
	{ 13, "EACCES" },
	{ 22, "EINVAL" },
	{ 28, "ENOSPC" },
	{ 30, "EROFS" },
	{ 34, "ERANGE" },
	{ 36, "ENAMETOOLONG" },
	{ 38, "ENOSYS" },
	{ 40, "ELOOP" },
	{ 61, "ENODATA" },
	{ 95, "EOPNOTSUPP" }, /* ENOTSUP is the same number on Linux */
	{ 116, "ESTALE" },
	{ 122, "EDQUOT" },
};

/* "xattr: <op>: <errno name>" on stderr, exit 1. */
static __attribute__((noreturn)) void fail(const char *op, long err)
{
	char digits[24];
	unsigned long i, v;

	put(2, "xattr: ");
	put(2, op);
	put(2, ": ");
	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++) {
		if (errno_names[i].nr == err) {
			put(2, errno_names[i].name);
			put(2, "\n");
			sys_exit(1);
		}
	}
	/* errno N, in decimal from the right. */
	i = sizeof(digits);
	digits[--i] = '\n';
	v = err > 0 ? (unsigned long)err : 0;
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && i > 0);
	put(2, "errno ");
	write_all(2, digits + i, sizeof(digits) - i);
	sys_exit(1);
}

static __attribute__((noreturn)) void usage(void)
{
	put(2, "usage: xattr set PATH NAME VALUE\n"
	       "       xattr get PATH NAME\n"
	       "       xattr list PATH\n"
	       "       xattr rm PATH NAME\n");
	sys_exit(2);
}

/* One more byte than the kernel may fill: the newline after a value or after the last name. */
static char value[VALUE_MAX + 1];
static char list[LIST_MAX + 1];

static void out(const char *op, char *buf, long n)
{
	long r = write_all(1, buf, (unsigned long)n);

	if (r < 0)
		fail(op, -r);
}

static int run(long argc, char **argv)
{
	const char *op = argv[1];
	long n, i;

	if (argc == 5 && same(op, "set")) {
		n = sys5(SYS_setxattr, (long)argv[2], (long)argv[3], (long)argv[4],
			 (long)length(argv[4]), 0);
		if (n < 0)
			fail(op, -n);
		return 0;
	}
	if (argc == 4 && same(op, "get")) {
		n = sys5(SYS_getxattr, (long)argv[2], (long)argv[3], (long)value, VALUE_MAX, 0);
		if (n < 0)
			fail(op, -n);
		if (n > VALUE_MAX)
			fail(op, ERANGE); /* more than the buffer holds: the kernel never says so */
		value[n] = '\n';
		out(op, value, n + 1);
		return 0;
	}
	if (argc == 3 && same(op, "list")) {
		n = sys5(SYS_listxattr, (long)argv[2], (long)list, LIST_MAX, 0, 0);
		if (n < 0)
			fail(op, -n);
		if (n > LIST_MAX)
			fail(op, ERANGE);
		/* Each name ends in a NUL (listxattr(2)): a newline each, one more if the last has none. */
		for (i = 0; i < n; i++)
			if (list[i] == '\0')
				list[i] = '\n';
		if (n > 0 && list[n - 1] != '\n')
			list[n++] = '\n';
		out(op, list, n);
		return 0;
	}
	if (argc == 4 && same(op, "rm")) {
		n = sys5(SYS_removexattr, (long)argv[2], (long)argv[3], 0, 0, 0);
		if (n < 0)
			fail(op, -n);
		return 0;
	}
	usage();
}

void start_c(long *sp)
{
	long argc = sp[0];

	if (argc < 2)
		usage();
	sys_exit(run(argc, (char **)(sp + 1)));
}
