/*
 * A vCPU that never exits to evmm again, for vcpu_stop to kick: with
 * %ebx = 0 a tight loop, else hlt with interrupts off.
 * Reports: 1 just before, nothing after.
 */
#include "payload.h"

	.code16
	.text
	.globl payload_start
payload_start:
	cli
	REPORT_IMM 1
	test %ebx, %ebx
	jnz halt
1:	jmp 1b			/* no exit: only a signal gets KVM_RUN back */
halt:
	HALT_FOREVER		/* KVM waits in the kernel: no exit either */
