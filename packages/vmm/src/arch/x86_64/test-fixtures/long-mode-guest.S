/* A 64-bit guest without a PVH note, linked like a Linux vmlinux: virtual addresses in the
 * top 2 GiB, physical load addresses at 1 MiB, e_entry the physical address of the entry. */
	.section .note.other, "a", @note
	.balign 4
	.long 4
	.long 4
	.long 1
	.asciz "GNU"
	.balign 4
	.long 0

	.text
	.code64
	.globl startup_64
#include "long-mode-report.S"

	.data
	.ascii "long-mode guest data"

	.bss
	.skip 4096
