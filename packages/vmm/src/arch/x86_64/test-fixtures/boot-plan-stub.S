/* Runs a BootPlan on a real x86 machine (QEMU, TCG): QEMU boots this stub through PVH with an
 * image of what loadKernel wrote as its one module (hvm_start_info in EBX, modlist at +16). The
 * stub copies the image's chunks to their guest-physical addresses, then puts the CPU in the
 * plan's state (GDT, CR3, CR4, EFER, CR0, segments, RSI/RBX/RSP) and far-jumps to the plan's
 * CS:RIP. Image layout (written by qemu-plan.test-support.ts):
 *   0  u32 magic "VMMI"     4  u32 chunk count     8  u32 cr0      12 u32 cr3
 *   16 u32 cr4              20 u32 efer            24 u32 -        28 u32 -
 *   32 u32 rip              36 u16 cs              40 u32 rsi      44 u32 rbx
 *   48 u32 rsp              52 u16 ds              56 u16 gdt limit, 58 u32 gdt base
 *   64 chunks: u32 address, u32 length, bytes, padded to 4 bytes                             */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18
	.asciz "Xen"
	.balign 4
	.long stub_entry
	.balign 4

	.text
	.code32
	.globl stub_entry
stub_entry:
	cli
	cld
	movl 16(%ebx), %eax		/* modlist_paddr */
	movl (%eax), %ebp		/* module 0: the image */
	cmpl $0x494d4d56, (%ebp)	/* "VMMI" */
	jne fail
	movl 4(%ebp), %ebx		/* chunk count (no stack: PVH defines none) */
	leal 64(%ebp), %esi
copy:
	testl %ebx, %ebx
	jz copied
	movl (%esi), %edi
	movl 4(%esi), %ecx
	addl $8, %esi
	rep movsb
	addl $3, %esi
	andl $~3, %esi
	decl %ebx
	jmp copy
copied:
	lgdt 56(%ebp)
	movl 20(%ebp), %eax
	testl %eax, %eax
	jz enter			/* no EFER: stay in 32-bit protected mode */
	movl 16(%ebp), %eax
	movl %eax, %cr4
	movl 12(%ebp), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	movl 20(%ebp), %eax
	andl $~0x400, %eax		/* LMA is the CPU's to set */
	xorl %edx, %edx
	wrmsr
enter:
	movl 8(%ebp), %eax
	movl %eax, %cr0
	movw 52(%ebp), %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl 40(%ebp), %esi
	movl 44(%ebp), %ebx
	movl 48(%ebp), %esp
	ljmp *32(%ebp)
fail:
	movl $0x2, %eax			/* isa-debug-exit: QEMU exits with 5 */
	outl %eax, $0xf4
	hlt
