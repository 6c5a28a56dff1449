/*
 * PCI configuration space from guest code, 32-bit protected mode: the host
 * bridge through 0xCF8/0xCFC and through ECAM, absent functions, then the
 * test device in slot 1 (tests/kvm/test_pci.c): BAR0 (32-bit, 8 KiB) sized,
 * used, moved and switched off, BAR2 (64-bit) sized through the ports.
 * Reports, in order: see test_pci.c, then PL_DONE.
 */
#include "payload.h"

#define CFG(slot, reg)	(0x80000000 | (slot) << 11 | (reg))
#define ECAM(slot, reg)	PL_PCI_ECAM + (slot) * 0x8000 + (reg)

/* %eax = the dword at CFG(slot, reg) through the ports. */
.macro CF8_READ slot, reg
	mov $PL_PCI_CF8, %dx
	mov $CFG(\slot, \reg), %eax
	out %eax, %dx
	mov $PL_PCI_CFC, %dx
	in %dx, %eax
.endm

/* Writes %ecx to the dword at CFG(slot, reg) through the ports. */
.macro CF8_WRITE slot, reg
	mov $PL_PCI_CF8, %dx
	mov $CFG(\slot, \reg), %eax
	out %eax, %dx
	mov $PL_PCI_CFC, %dx
	mov %ecx, %eax
	out %eax, %dx
.endm

	.code16
	.text
	.globl payload_start
payload_start:
	ENTER_PM32
	mov $PL_STACK, %esp

	/* 0-4: the host bridge through the ports. */
	CF8_READ 0, 0
	REPORT				/* 0x0D578086 */
	mov $PL_PCI_CF8, %dx
	in %dx, %eax
	REPORT				/* 0x80000000: as written */
	xor %eax, %eax
	mov $(PL_PCI_CFC + 2), %dx
	in %dx, %ax
	REPORT				/* 0x0D57: a word at 0xCFE */
	mov $(PL_PCI_CFC + 2), %dx
	in %dx, %eax
	REPORT				/* 0xFFFFFFFF: past 0xCFF */
	CF8_READ 0, 8
	REPORT				/* class 06/00/00 */

	/* 5-9: ECAM, and absent functions either way. */
	mov ECAM(0, 0), %eax
	REPORT				/* 0x0D578086 */
	movzwl ECAM(1, 2), %eax
	REPORT				/* the test device's ID */
	mov ECAM(2, 0), %eax
	REPORT				/* 0xFFFFFFFF: empty slot */
	mov ECAM(1, 0x1000), %eax
	REPORT				/* 0xFFFFFFFF: function 1 */
	mov $PL_PCI_CF8, %dx
	mov $(CFG(1, 0) & 0x7FFFFFFF), %eax
	out %eax, %dx
	mov $PL_PCI_CFC, %dx
	in %dx, %eax
	REPORT				/* 0xFFFFFFFF: enable bit off */

	/* 10-12: size BAR0 of slot 1 through ECAM, as Linux does. */
	mov ECAM(1, 0x10), %esi
	mov %esi, %eax
	REPORT				/* where evmm put it */
	movl $0xFFFFFFFF, ECAM(1, 0x10)
	mov ECAM(1, 0x10), %eax
	REPORT				/* ~(8 KiB - 1) */
	mov %esi, ECAM(1, 0x10)
	mov 0x10(%esi), %eax
	REPORT				/* the device's answer */
	movl $0xC0FFEE, 0x20(%esi)

	/* 13-16: size 64-bit BAR2 through the ports, then put it back. */
	CF8_READ 1, 0x18
	mov %eax, %edi
	REPORT				/* its low dword */
	mov $0xFFFFFFFF, %ecx
	CF8_WRITE 1, 0x18
	CF8_WRITE 1, 0x1C
	CF8_READ 1, 0x18
	REPORT				/* ~(16 KiB - 1) | 64-bit, prefetch */
	CF8_READ 1, 0x1C
	REPORT				/* 0xFFFFFFFF */
	mov %edi, %ecx
	CF8_WRITE 1, 0x18
	mov $1, %ecx
	CF8_WRITE 1, 0x1C
	CF8_READ 1, 0x1C
	REPORT				/* 1: at 4 GiB again */

	/* 17-19: BAR0 moves up 64 KiB, then memory decoding goes off. */
	lea 0x10000(%esi), %eax
	mov %eax, ECAM(1, 0x10)
	mov 0x10(%esi), %eax
	REPORT				/* 0xFFFFFFFF: nobody there now */
	mov 0x10010(%esi), %eax
	REPORT				/* the device again */
	movw $0, ECAM(1, 4)
	mov 0x10010(%esi), %eax
	REPORT				/* 0xFFFFFFFF */

	REPORT_IMM PL_DONE
	HALT_FOREVER

	FLAT_GDT
