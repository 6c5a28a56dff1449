/*
 * Port I/O exits, real mode: byte/word/dword writes and reads on the test
 * device, then string I/O (rep outsb, rep outsw, rep insb).
 * Reports: the sum of the four reads, the dword rep insb filled, PL_DONE.
 */
#include "payload.h"

	ENTRY16

	/* Writes of each size, immediate and %dx port forms. */
	mov $0xA5, %al
	out %al, $PL_PORT_TEST
	mov $0xBEEF, %ax
	out %ax, $(PL_PORT_TEST + 2)
	mov $0xDEADBEEF, %eax
	mov $(PL_PORT_TEST + 4), %dx
	out %eax, %dx

	/* Reads: the device answers port + 1; sum them in %ecx. */
	xor %ecx, %ecx
	xor %eax, %eax
	in $PL_PORT_TEST, %al		/* 0x11 */
	add %eax, %ecx
	xor %eax, %eax
	in $(PL_PORT_TEST + 2), %ax	/* 0x0013 */
	add %eax, %ecx
	mov $(PL_PORT_TEST + 4), %dx
	in %dx, %eax			/* 0x00000015 */
	add %eax, %ecx
	xor %eax, %eax
	in $(PL_PORT_TEST + 15), %al	/* 0x20: last port of the range */
	add %eax, %ecx
	mov %ecx, %eax
	REPORT

	/* String output: 5 bytes, then 3 words, each in order. */
	cld
	mov $ABS(bytes), %si
	mov $5, %cx
	mov $(PL_PORT_TEST + 8), %dx
	rep outsb
	mov $ABS(words), %si
	mov $3, %cx
	mov $(PL_PORT_TEST + 10), %dx
	rep outsw

	/* String input: 4 bytes from port + 12, each 0x1D. */
	mov $ABS(buf), %di
	mov $4, %cx
	mov $(PL_PORT_TEST + 12), %dx
	rep insb
	mov ABS(buf), %eax
	REPORT

	REPORT_IMM PL_DONE
	HALT_FOREVER

bytes:	.ascii "ABCDE"
words:	.word 0x1111, 0x2222, 0x3333
	.balign 4
buf:	.long 0
