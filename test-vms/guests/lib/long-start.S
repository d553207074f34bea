/*
 * Common 64-bit start: flat data segments, BSS zeroed, a stack, then guest_main(boot_arg);
 * if it returns, halt. Entered from entry-pvh.S or entry-linux64.S with RDI = boot argument,
 * CS = 0x08 of boot_gdt, paging on boot_pml4, interrupts off.
 */
	.text
	.code64
	.globl long_start
long_start:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov %rdi, %r12
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $3, %ecx
	xor %eax, %eax
	rep stosq
	mov $boot_stack_top, %esp
	mov %r12, %rdi
	call guest_main
	call halt_forever
