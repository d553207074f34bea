/* A PVH guest: 32-bit entry found through the Xen note XEN_ELFNOTE_PHYS32_ENTRY (type 18),
 * as xen/include/public/elfnote.h defines it. The value is 4 bytes, or 8 with -DPVH_NOTE_QUAD
 * (as Linux's arch/x86/platform/pvh/head.S emits it with _ASM_PTR on x86_64). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* namesz: "Xen\0" */
#ifdef PVH_NOTE_QUAD
	.long 8			/* descsz */
#else
	.long 4			/* descsz */
#endif
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
#ifdef PVH_NOTE_QUAD
	.quad pvh_start
#else
	.long pvh_start
#endif
	.balign 4

#ifdef LINUX_NOTE
/* A note owned by "Linux", as Linux 4.19 and later emit (include/linux/build-salt.h: type 0x100,
 * LINUX_ELFNOTE_BUILD_SALT, a 4-byte value): it marks the file as a Linux kernel. */
	.section .note.Linux, "a", @note
	.balign 4
	.long 6			/* namesz: "Linux\0" */
	.long 4			/* descsz */
	.long 0x100		/* LINUX_ELFNOTE_BUILD_SALT */
	.asciz "Linux"
	.balign 4
	.long 0
	.balign 4
#endif

	.text
	.code32
	.globl _start
_start:				/* e_entry: not the PVH entry, so a test can tell them apart */
	ud2
pvh_start:			/* checks hvm_start_info, prints its command line on COM1 */
	movl $stack_top, %esp		/* the PVH ABI gives no stack */
	cmpl $0x336ec578, (%ebx)	/* XEN_HVM_START_MAGIC_VALUE */
	jne 2f
	movl 24(%ebx), %esi		/* cmdline_paddr */
	call puts
	leal ok, %esi
	call puts
	movl $0x31, %eax		/* isa-debug-exit: QEMU exits with 99 */
	outl %eax, $0xf4
2:	movl $0x1, %eax			/* QEMU exits with 3 */
	outl %eax, $0xf4
	hlt
	jmp 2b
puts:
	movw $0x3f8, %dx
1:	lodsb
	testb %al, %al
	jz 1f
	outb %al, %dx
	jmp 1b
1:	ret
ok:	.asciz "\nPVH OK\n"

	.data
	.ascii "PVH guest data"

	.bss
	.skip 8192		/* p_memsz > p_filesz: the loader must zero this; also the stack */
stack_top:
