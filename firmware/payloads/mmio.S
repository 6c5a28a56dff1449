/*
 * MMIO exits: 32-bit protected mode with flat segments reaches the test
 * device in the 32-bit hole. Byte/word/dword writes and reads, then a
 * string write (rep stosl, 3 dwords).
 * Reports: the sum of the four reads, PL_DONE.
 */
#include "payload.h"

	.code16
	.text
	.globl payload_start
payload_start:
	ENTER_PM32
	mov $PL_STACK, %esp

	/* Writes of each size. */
	movb $0x5A, PL_MMIO_TEST
	movw $0xCAFE, PL_MMIO_TEST + 2
	movl $0x12345678, PL_MMIO_TEST + 4

	/* Reads: the device answers address + 1; sum them in %ecx. */
	movzbl PL_MMIO_TEST, %ecx			/* 0x01 */
	movzwl PL_MMIO_TEST + 2, %eax			/* 0x0003 */
	add %eax, %ecx
	add PL_MMIO_TEST + 4, %ecx			/* 0xD0000005 */
	add PL_MMIO_TEST + PL_MMIO_TEST_LEN - 4, %ecx	/* last dword */
	mov %ecx, %eax
	REPORT

	/* String write: KVM emulates it one dword exit at a time. */
	cld
	mov $(PL_MMIO_TEST + 0x20), %edi
	mov $0x11223344, %eax
	mov $3, %ecx
	rep stosl

	REPORT_IMM PL_DONE
	HALT_FOREVER

	FLAT_GDT
