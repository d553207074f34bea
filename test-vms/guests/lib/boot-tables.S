/*
 * The tables every guest runs on in long mode (Intel SDM vol. 3A §3.4.5 segment descriptors,
 * §4.5 4-level paging):
 *   GDT: 0x08 = 64-bit code (L=1, DPL 0), 0x10 = flat data.
 *   Page tables: identity map of the first 4 GiB with 2 MiB pages (PS=1): one PML4 entry, four
 *   PDPT entries, 2048 PD entries, all built by the assembler (no loop at run time).
 * 1 GiB pages are avoided (no pdpe1gb on our hosts: shared/testing.md).
 */
	.section .data.boot, "aw"
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad boot_pdpt + 0x3            /* present, writable */
	.fill 511, 8, 0
boot_pdpt:
	.quad boot_pd + 0x0000 + 0x3
	.quad boot_pd + 0x1000 + 0x3
	.quad boot_pd + 0x2000 + 0x3
	.quad boot_pd + 0x3000 + 0x3
	.fill 508, 8, 0
boot_pd:
	.set page, 0
	.rept 2048
	.quad page + 0x83                /* present, writable, PS (2 MiB) */
	.set page, page + 0x200000
	.endr

	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff         /* 0x08: code, 64-bit */
	.quad 0x00cf92000000ffff         /* 0x10: data */
boot_gdt_end:
	.balign 8
	.globl boot_gdt_ptr
boot_gdt_ptr:                        /* lgdt reads 6 bytes in 32-bit mode, 10 in 64-bit mode */
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.section .bss.stack, "aw", @nobits
	.balign 16
boot_stack:
	.skip 16384
	.globl boot_stack_top
boot_stack_top:
