/*
 * Accesses nobody claims: reads return all ones, writes go nowhere. Port
 * I/O in real mode, then MMIO (in the 32-bit hole and above RAM) in
 * protected mode.
 * Reports, each a read: port byte, word, dword; a word straddling the
 * test device's last port; MMIO hole byte, dword; above RAM dword, word;
 * then PL_DONE.
 */
#include "payload.h"

	ENTRY16

	/* Writes first: a device that kept them would change the reads. */
	mov $0x12, %al
	out %al, $PL_PORT_UNCLAIMED
	mov $0x12345678, %eax
	out %eax, $PL_PORT_UNCLAIMED

	xor %eax, %eax
	in $PL_PORT_UNCLAIMED, %al
	REPORT
	xor %eax, %eax
	in $PL_PORT_UNCLAIMED, %ax
	REPORT
	xor %eax, %eax
	in $PL_PORT_UNCLAIMED, %eax
	REPORT
	/* Half in the test device, half outside: nobody's, as a whole. */
	out %ax, $(PL_PORT_TEST + PL_PORT_TEST_LEN - 1)
	xor %eax, %eax
	in $(PL_PORT_TEST + PL_PORT_TEST_LEN - 1), %ax
	REPORT

	ENTER_PM32
	movb $0x12, PL_MMIO_UNCLAIMED
	movl $0x12345678, PL_MMIO_UNCLAIMED + 4
	movl $0x12345678, PL_MMIO_ABOVE_RAM
	movw $0x1234, PL_MMIO_ABOVE_RAM + 6

	movzbl PL_MMIO_UNCLAIMED, %eax
	REPORT
	mov PL_MMIO_UNCLAIMED + 4, %eax
	REPORT
	mov PL_MMIO_ABOVE_RAM, %eax
	REPORT
	movzwl PL_MMIO_ABOVE_RAM + 6, %eax
	REPORT

	REPORT_IMM PL_DONE
	HALT_FOREVER

	FLAT_GDT
