/*
 * Doorbells and MSIs (tests/kvm/test_irq.c): rings two doorbells that
 * evmm's ioeventfds catch (a word matching PL_MSI_DOORBELL_MATCH, then one
 * that does not, which exits to the test device; a dword at
 * PL_MSI_DOORBELL_ANY), turns the xAPIC on and waits, interrupts on, for
 * two MSIs of vector PL_MSI_VECTOR from an irqfd.
 * Reports: PL_MSI_READY, then the interrupt count at each (1, 2), PL_DONE.
 */
#include "payload.h"

	.code16
	.text
	.globl payload_start
payload_start:
	ENTER_PM32
	mov $PL_STACK, %esp
	lidt ABS(idt_desc)
	movl $0x1FF, PL_LAPIC_SVR	/* software enable, spurious 0xFF */

	movw $PL_MSI_DOORBELL_MATCH, PL_MSI_DOORBELL
	movw $(PL_MSI_DOORBELL_MATCH + 1), PL_MSI_DOORBELL
	movl $0xD00D, PL_MSI_DOORBELL_ANY
	REPORT_IMM PL_MSI_READY

	/* sti; hlt: an interrupt between the test and hlt is not lost. */
1:	cli
	cmpl $2, ABS(count)
	jae 2f
	sti
	hlt
	jmp 1b
2:	REPORT_IMM PL_DONE
	HALT_FOREVER

handler:
	push %eax
	push %edx
	incl ABS(count)
	mov ABS(count), %eax
	REPORT
	movl $0, PL_LAPIC_EOI
	pop %edx
	pop %eax
	iret

	.balign 4
count:
	.long 0

	/* Gates 0 to PL_MSI_VECTOR - 1 absent: any other vector faults. */
	.balign 8
idt:
	.fill PL_MSI_VECTOR, 8, 0
	.word ABS(handler) & 0xFFFF
	.word SEL_CODE32
	.word 0x8E00			/* present, 32-bit interrupt gate */
	.word ABS(handler) >> 16
idt_end:
idt_desc:
	.word idt_end - idt - 1
	.long ABS(idt)

	FLAT_GDT
