/*
 * syscall-via-fault: proves patch 0003 (arch/x86/mm/fault.c) on any x86-64 host.
 *
 * On a software-emulated KVM a user-mode SYSCALL sets RCX (return address) and R11 (flags)
 * and jumps to MSR_LSTAR without leaving CPL 3, so the first instruction fetch of
 * entry_SYSCALL_64 page-faults from user mode. This program produces exactly that fault on
 * real hardware and under QEMU TCG: it loads RCX and R11 as SYSCALL would and jumps to
 * entry_SYSCALL_64 (its address is argv[1], in hex, from /proc/kallsyms). With the patch the
 * kernel runs write(1, "SYSCALL-VIA-FAULT-OK\n") and exit(0) for it; without it the program
 * dies of SIGSEGV.
 *
 * Freestanding (no libc): gcc -O2 -static -nostdlib -ffreestanding -fno-pie -no-pie
 * -fno-stack-protector -fcf-protection=none -s. The x86-64 syscall ABI: number in RAX,
 * arguments in RDI, RSI, RDX; the result in RAX (Linux: arch/x86/entry/entry_64.S).
 */

#define SYS_write 1
#define SYS_exit 60

__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");

/* A real SYSCALL, for the failure messages. */
static long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

/* What SYSCALL does on a software-emulated KVM: RCX and R11 loaded, a jump, still CPL 3. */
static long via_fault(unsigned long entry, long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
			 "pushfq\n\t"
			 "pop %%r11\n\t"
			 "jmp *%[entry]\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), [entry] "r"(entry)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}

static unsigned long parse_hex(const char *s)
{
	unsigned long v = 0;

	for (; *s; s++) {
		char ch = *s;

		if (ch >= '0' && ch <= '9')
			v = v * 16 + (unsigned long)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = v * 16 + (unsigned long)(ch - 'a' + 10);
		else
			return 0;
	}
	return v;
}

static void fail(const char *msg, long len)
{
	sys3(SYS_write, 2, (long)msg, len);
	sys3(SYS_exit, 2, 0, 0);
}

void start_c(long *sp)
{
	static const char ok[] = "SYSCALL-VIA-FAULT-OK\n";
	static const char usage[] = "usage: syscall-via-fault <entry_SYSCALL_64 in hex>\n";
	static const char bad[] = "syscall-via-fault: write returned the wrong count\n";
	char **argv = (char **)(sp + 1);
	unsigned long entry;

	if (sp[0] < 2 || (entry = parse_hex(argv[1])) == 0)
		fail(usage, sizeof(usage) - 1);
	if (via_fault(entry, SYS_write, 1, (long)ok, sizeof(ok) - 1) != (long)sizeof(ok) - 1)
		fail(bad, sizeof(bad) - 1);
	via_fault(entry, SYS_exit, 0, 0, 0);
	fail(bad, sizeof(bad) - 1);
}
