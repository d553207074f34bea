/*
 * PVH entry (Xen's HVM direct boot ABI, xen/include/public/arch-x86/hvm/start_info.h): 32-bit
 * protected mode, paging off, flat CS/DS, EBX = physical address of struct hvm_start_info.
 * The entry's address is published in the ELF note XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen"
 * (xen/include/public/elfnote.h).
 * 32-bit iret does not work on our hosts (shared/testing.md), so the guest goes to long mode at
 * once (Intel SDM vol. 3A §9.8.5 "Initializing IA-32e Mode": CR4.PAE, CR3, EFER.LME, CR0.PG).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR4_PAE 0x20
#define CR0_PE_PG 0x80000001

	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f                    /* namesz */
	.long 4f - 3f                    /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.long pvh_start
4:	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov %ebx, %esi                   /* start_info: kept in ESI until long mode */
	lgdt boot_gdt_ptr
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $CR0_PE_PG, %eax
	mov %eax, %cr0
	ljmp $0x08, $1f

	.code64
1:	mov %esi, %edi                   /* zero-extends: RDI = start_info */
	jmp long_start
