/*
 * A hostile guest: PL_HOSTILE_ROUNDS pseudo-random accesses (xorshift32
 * seeded by %ebx) at ports 0x3F4-0x403 (COM1 and its neighbours), of every
 * size, single and string, both ways, and reads of the PM registers. Then
 * it restores the UART and prints "\nok\n".
 * Reports: the number of rounds done, PL_DONE.
 */
#include "payload.h"

#define PORT_LO		(PL_COM1 - 4)

	ENTRY16
	cld
	xor %bp, %bp

next:
	/* xorshift32: %ebx is the state, %eax scratch. */
	mov %ebx, %eax
	shl $13, %eax
	xor %eax, %ebx
	mov %ebx, %eax
	shr $17, %eax
	xor %eax, %ebx
	mov %ebx, %eax
	shl $5, %eax
	xor %eax, %ebx

	/* Port: bits 0-3; operation: bits 10-13. */
	mov %bx, %dx
	and $0xF, %dx
	add $PORT_LO, %dx
	mov %ebx, %edi
	shr $10, %edi
	and $15, %di
	/* One time in eight (bits 5-7 clear): a PM register, read only. */
	test $0xE0, %bl
	jnz 1f
	mov %bx, %dx
	shr $8, %dx
	and $3, %dx
	add $PL_PM_BASE, %dx
	and $3, %di			/* in b/w/l, or rep insb (9) */
	cmp $3, %di
	jne 1f
	mov $9, %di
1:	/* String count: bits 16-18, plus one; value: the state itself. */
	mov %ebx, %ecx
	shr $16, %ecx
	and $7, %cx
	inc %cx
	mov %ebx, %eax
	mov $ABS(buf), %si
	shl $1, %di
	jmp *ABS(ops)(%di)

op_inb:		in %dx, %al
		jmp done
op_inw:		in %dx, %ax
		jmp done
op_inl:		in %dx, %eax
		jmp done
op_outb:	out %al, %dx
		jmp done
op_outw:	out %ax, %dx
		jmp done
op_outl:	out %eax, %dx
		jmp done
op_outsb:	rep outsb
		jmp done
op_outsw:	rep outsw
		jmp done
op_outsl:	rep outsl
		jmp done
op_insb:	mov $ABS(buf), %di
		rep insb
		jmp done
op_insw:	mov $ABS(buf), %di
		rep insw
		jmp done
op_insl:	mov $ABS(buf), %di
		rep insl
done:
	inc %bp
	cmp $PL_HOSTILE_ROUNDS, %bp
	jb next

	/* Power-on UART state: no DLAB, no loopback, FIFOs cleared. */
	mov $(PL_COM1 + 3), %dx		/* LCR */
	mov $0x03, %al
	out %al, %dx
	mov $(PL_COM1 + 4), %dx		/* MCR */
	xor %al, %al
	out %al, %dx
	mov $(PL_COM1 + 1), %dx		/* IER */
	out %al, %dx
	mov $(PL_COM1 + 2), %dx		/* FCR */
	mov $0x07, %al
	out %al, %dx

	mov $ABS(ok), %si
2:	lodsb
	test %al, %al
	jz 4f
	mov %al, %ah
	mov $PL_COM1_LSR, %dx
3:	in %dx, %al
	test $PL_LSR_THRE, %al
	jz 3b
	mov %ah, %al
	mov $PL_COM1, %dx
	out %al, %dx
	jmp 2b
4:	movzwl %bp, %eax
	REPORT
	REPORT_IMM PL_DONE
	HALT_FOREVER

	.balign 2
ops:	.word ABS(op_inb), ABS(op_inw), ABS(op_inl)
	.word ABS(op_outb), ABS(op_outw), ABS(op_outl)
	.word ABS(op_outb), ABS(op_outb), ABS(op_outsb)
	.word ABS(op_insb), ABS(op_insw), ABS(op_insl)
	.word ABS(op_outsw), ABS(op_outsl), ABS(op_inb), ABS(op_inb)
ok:	.asciz "\nok\n"
	.balign 4
buf:	.fill 32, 1, 0x5A
