/*
 * Several vCPUs: the BSP starts the APs with INIT and SIPI through its
 * xAPIC; every CPU (BSP included) then writes what it knows of its APIC ID
 * to the test port: PL_SMP_REPORT(LAPIC ID register, CPUID.1 EBX[31:24],
 * CPUID.0xB EDX), a dword. The APs count themselves in ap_count and halt.
 * %ebx: bits 0-7 the APIC ID to start (0: all but self, broadcast),
 * bits 8-15 how many APs the BSP waits for.
 * Reports (BSP): the AP count it saw, PL_DONE.
 */
#include "payload.h"

/* PL_SMP_REPORT of this CPU to the test port. Clobbers eax-edx, esi. */
.macro REPORT_IDS
	mov $0xB, %eax			/* x2APIC topology, level 0 */
	xor %ecx, %ecx
	cpuid
	movzbl %dl, %esi
	mov $1, %eax
	cpuid
	shr $24, %ebx
	shl $8, %ebx
	or %ebx, %esi
	mov PL_LAPIC_ID, %eax
	shr $24, %eax
	shl $16, %eax
	or %esi, %eax
	or $0xA5000000, %eax
	mov $PL_PORT_TEST, %dx
	out %eax, %dx
.endm

/* Writes ICR (high %ecx, low %eax), then waits until it is delivered. */
.macro SEND_IPI
	mov %ecx, PL_LAPIC_ICR_HI
	mov %eax, PL_LAPIC_ICR_LO
1:	pause
	testl $PL_ICR_BUSY, PL_LAPIC_ICR_LO
	jnz 1b
.endm

	.code16
	.text
	.globl payload_start
payload_start:
	ENTER_PM32
	mov $PL_STACK, %esp
	mov %ebx, %ebp			/* the argument; cpuid clobbers %ebx */
	REPORT_IDS

	orl $0x100, PL_LAPIC_SVR	/* APIC software enable */

	/* Destination: one APIC ID (physical mode) or all but self. */
	mov %ebp, %ecx
	shl $24, %ecx
	xor %edi, %edi
	test %ecx, %ecx
	jnz 2f
	mov $PL_ICR_ALL_BUT_SELF, %edi
2:	mov $PL_ICR_INIT, %eax
	or %edi, %eax
	SEND_IPI
	/* Two SIPIs, as the MP spec says; KVM drops the second one. */
	mov $(PL_ICR_SIPI | (ABS(ap_entry) >> 12)), %eax
	or %edi, %eax
	SEND_IPI
	mov $(PL_ICR_SIPI | (ABS(ap_entry) >> 12)), %eax
	or %edi, %eax
	SEND_IPI

	/* Wait for the APs: they share our memory. */
	mov %ebp, %ecx
	shr $8, %ecx
	and $0xFF, %ecx
3:	pause
	cmp ABS(ap_count), %ecx
	jne 3b
	mov ABS(ap_count), %eax
	REPORT
	REPORT_IMM PL_DONE
	HALT_FOREVER

	FLAT_GDT
	.balign 4
ap_count:
	.long 0

/* The APs start here, at cs:ip = (page << 8):0, in real mode, no stack. */
	.balign 4096
ap_entry:
	ENTER_PM32
	REPORT_IDS
	lock incl ABS(ap_count)
	HALT_FOREVER
