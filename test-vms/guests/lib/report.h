/*
 * The test guests' output on COM1: the one definition of the format (the host-side parser,
 * test-vms/src/guests/output.ts, follows it).
 *
 * Every line ends in "\n" (a host may see "\r\n": strip a trailing "\r"). Hex numbers are
 * written "0x" + lowercase digits without leading zeros ("0x0" for zero); decimal numbers
 * are plain. A guest writes, in this order, the lines that apply to it:
 *
 *   START_INFO magic=0x336ec578 version=N flags=0x.. nr_modules=N   (PVH: hvm_start_info)
 *   MEM addr=0x.. size=0x.. type=N                                  (PVH: each memmap entry)
 *   E820 addr=0x.. size=0x.. type=N                                 (Linux 64: each zero-page e820 entry)
 *   CMDLINE <the command line's bytes, exactly, up to its NUL>
 *   CMDLINE-END                                                     (ends the command line: the bytes
 *                                                                    between "CMDLINE " and "\nCMDLINE-END"
 *                                                                    are the command line, newlines included)
 *   RSDP addr=0x.. source=start_info|zeropage|scan revision=N       (where the RSDP was found)
 *   ACPI SIG len=N checksum=ok|bad          (RSDP first, then the XSDT (or RSDT), each table it lists,
 *                                            and the DSDT; SIG is the 4-character signature, "RSDP"
 *                                            for the RSDP)
 *   MADT CPUS n                             (enabled local APICs / x2APICs in the MADT)
 *   DONE                                    (the guest's work is complete)
 *   POWEROFF S5 slp_typ=N reg=sleep_control|pm1_control   (the write that should end the VM follows)
 *   POWEROFF-FAILED                         (still running after the write: the guest halts forever)
 *   RESET reg=fadt                          (the write to the FADT's reset register follows)
 *   RESET-FAILED                            (still running after it)
 *   ERROR <sentence>                        (something the guest could not read or find)
 *
 * Lines of particular guests:
 *   ECHO-READY / ECHO-BYE                   (echo: before echoing input; after reading the line "quit")
 *   TRIPLE-FAULT-NOW                        (triple-fault: the next instruction shuts the VM down)
 *   EXITS-BEGIN n=N / EXITS-END             (exits: around N writes to I/O port 0x80)
 *   BOOT-COUNT n                            (blk-reboot: byte 0 of the disk's sector 0 at this boot)
 *   LIFECYCLE-READY / COUNT n / POWER-BUTTON (lifecycle: before counting; every 100 ms; on the
 *                                            ACPI power button, before it powers off)
 */
#ifndef GUEST_REPORT_H
#define GUEST_REPORT_H

#include <stdint.h>

void report_line(const char *s);
void report_error(const char *s);
void report_cmdline(uint64_t paddr);
/* For acpi_walk: one "ACPI SIG len=N checksum=..." line. */
void report_acpi_table(const char sig[4], uint32_t len, int checksum_ok);
void report_madt_cpus(unsigned n);

#endif
