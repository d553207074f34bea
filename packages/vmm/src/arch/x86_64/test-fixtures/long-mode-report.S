/* The 64-bit entry of the Linux boot protocol, as a test guest: checks boot_params (RSI) and
 * prints its command line on COM1, then exits QEMU through isa-debug-exit. Included by
 * long-mode-guest.S and bzimage-payload.S (not built on its own). */
startup_64:			/* runs at its physical address: only RIP-relative references */
	cmpl $0x53726448, 0x202(%rsi)	/* boot_params.hdr.header "HdrS" */
	jne 2f
	cmpb $3, 0x1e8(%rsi)		/* e820_entries */
	jne 2f
	movl 0x228(%rsi), %esi		/* hdr.cmd_line_ptr */
	call puts
	leaq ok(%rip), %rsi
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
ok:	.asciz "\nLONG MODE OK\n"
