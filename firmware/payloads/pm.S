/*
 * The ACPI power management registers, driven wrongly and then rightly:
 * writes evmm must ignore (wrong values, wrong register, wrong size, a
 * word straddling the range end), reads of all three registers, then per
 * %ebx: 1 = power off (S5 | SLP_EN to sleep control), 2 = reset (the
 * reset value to the reset register), else nothing.
 * Reports: sleep control, sleep status and reset as read (bytes), 1 after
 * the garbage; then, once the host opens the gate, the final write and
 * PL_DONE.
 */
#include "payload.h"

	ENTRY16

	/* Sleep control: not S5, or S5 without SLP_EN, or not a byte. */
	mov $PL_PM_SLEEP_CONTROL, %dx
	mov $0x00, %al
	out %al, %dx
	mov $(5 << 2), %al		/* S5, SLP_EN clear */
	out %al, %dx
	mov $((3 << 2) | 0x20), %al	/* S3 | SLP_EN */
	out %al, %dx
	mov $0xE0, %al			/* SLP_EN, type 0, junk high bit */
	out %al, %dx
	mov $PL_PM_S5_SLP_EN, %ax	/* right value, 2-byte write */
	out %ax, %dx
	mov $PL_PM_S5_SLP_EN, %eax	/* 4-byte write past the range */
	out %eax, %dx

	/* The right values at the wrong register. */
	mov $PL_PM_SLEEP_STATUS, %dx
	mov $PL_PM_S5_SLP_EN, %al
	out %al, %dx
	mov $PL_PM_RESET_VALUE, %al
	out %al, %dx
	mov $PL_PM_RESET, %dx
	mov $PL_PM_S5_SLP_EN, %al
	out %al, %dx

	/* Reset: other values, and the right one in a word. */
	mov $0x00, %al
	out %al, %dx
	mov $0xFF, %al
	out %al, %dx
	mov $0x06, %al			/* what a PC's 0xCF9 takes */
	out %al, %dx
	mov $PL_PM_RESET_VALUE, %ax
	out %ax, %dx

	/* Reads change nothing. */
	mov $PL_PM_SLEEP_CONTROL, %dx
	xor %eax, %eax
	in %dx, %al
	REPORT
	mov $PL_PM_SLEEP_STATUS, %dx
	xor %eax, %eax
	in %dx, %al
	REPORT
	mov $PL_PM_RESET, %dx
	xor %eax, %eax
	in %dx, %al
	REPORT
	REPORT_IMM 1
	WAIT_GATE		/* the host checks that nothing happened yet */

	cmp $1, %ebx
	je poweroff
	cmp $2, %ebx
	je reset
	jmp done
poweroff:
	mov $PL_PM_SLEEP_CONTROL, %dx
	mov $PL_PM_S5_SLP_EN, %al
	out %al, %dx
	jmp done
reset:
	mov $PL_PM_RESET, %dx
	mov $PL_PM_RESET_VALUE, %al
	out %al, %dx
done:
	REPORT_IMM PL_DONE
	HALT_FOREVER
