/*
 * Linux 64-bit boot protocol entry (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"):
 * long mode, paging with an identity map of the loaded image, zero page and command line,
 * a GDT with __BOOT_CS/__BOOT_DS, interrupts off, RSI = physical address of struct boot_params.
 * The guest switches to its own GDT and page tables (boot-tables.S), which map the first 4 GiB,
 * so it can read ACPI tables wherever the monitor put them below 4 GiB. The protocol promises no
 * stack: the guest takes its own before the far return that reloads CS.
 */
	.section .text.entry, "ax"
	.code64
	.globl linux64_start
linux64_start:
	cli
	cld
	mov $boot_stack_top, %esp
	lgdt boot_gdt_ptr
	mov $boot_pml4, %eax
	mov %rax, %cr3
	pushq $0x08                      /* reload CS from our GDT */
	pushq $1f
	lretq
1:	mov %rsi, %rdi                   /* RDI = zero page */
	jmp long_start
