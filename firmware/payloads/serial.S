/*
 * The 16550 by polling, as firmware and early Linux use it: prints
 * "hello\n" (waiting for LSR.THRE before each byte), then echoes what the
 * host types (waiting for LSR.DR) up to and including a newline.
 * Between the two, accesses wider than a byte, which the UART ignores.
 * Reports: a word read of the data port, a dword read of the last
 * registers, 1 once "hello\n" is out, the number of bytes echoed, PL_DONE.
 */
#include "payload.h"

	ENTRY16

	/* 8N1, no divisor latch, no loopback: the power-on state, made sure. */
	mov $(PL_COM1 + 3), %dx
	mov $0x03, %al
	out %al, %dx

	cld
	mov $ABS(hello), %si
1:	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp 1b
2:
	/* Not a byte: no output, reads all ones. */
	mov $PL_COM1, %dx
	mov $0x5958, %ax		/* "XY" */
	out %ax, %dx
	mov $0x5A5A5A5A, %eax
	out %eax, %dx
	xor %eax, %eax
	in %dx, %ax
	REPORT
	mov $(PL_COM1 + 4), %dx
	in %dx, %eax
	REPORT
	REPORT_IMM 1

	xor %cx, %cx			/* bytes echoed */
3:	call getc
	call putc
	inc %cx
	cmp $'\n', %al
	jne 3b
	movzwl %cx, %eax
	REPORT

	REPORT_IMM PL_DONE
	HALT_FOREVER

/* Sends %al once the transmitter is empty. Clobbers %dx. */
putc:
	mov %al, %ah
	mov $PL_COM1_LSR, %dx
1:	in %dx, %al
	test $PL_LSR_THRE, %al
	jz 1b
	mov %ah, %al
	mov $PL_COM1, %dx
	out %al, %dx
	ret

/* Waits for a received byte and returns it in %al. Clobbers %dx. */
getc:
	mov $PL_COM1_LSR, %dx
1:	in %dx, %al
	test $PL_LSR_DR, %al
	jz 1b
	mov $PL_COM1, %dx
	in %dx, %al
	ret

hello:	.asciz "hello\n"
