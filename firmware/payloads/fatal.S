/*
 * A guest evmm cannot run on, per %ebx:
 * 0: triple fault in protected mode (an IDT of limit 0, then ud2: #UD,
 *    #GP, #DF, shutdown);
 * 1: code fetched from MMIO nobody claims, which KVM cannot emulate.
 * Reports: 1 just before, nothing after.
 */
#include "payload.h"

	ENTRY16
	REPORT_IMM 1
	ENTER_PM32
	test %ebx, %ebx
	jnz fetch_mmio
	lidt ABS(no_idt)
	ud2
	HALT_FOREVER		/* not reached */

fetch_mmio:
	mov $PL_MMIO_UNCLAIMED, %eax
	jmp *%eax
	HALT_FOREVER		/* not reached */

no_idt:	.word 0			/* limit 0: no vector fits */
	.long 0
	FLAT_GDT
