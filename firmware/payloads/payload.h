/*
 * What the KVM-tier payloads and their tests (tests/kvm) agree on: where a
 * payload runs, the test devices' addresses, and evmm's own ports. Only
 * #defines, so C includes it too; the assembler macros are fenced off.
 *
 * A payload is a flat binary loaded at PL_BASE and entered in real mode at
 * cs:ip = 0:PL_BASE, with %ebx = the test's argument. It reports results as
 * dword writes to PL_PORT_REPORT, and ends with PL_DONE there.
 */
#ifndef EVMM_PAYLOAD_H
#define EVMM_PAYLOAD_H

#define PL_BASE			0x8000	/* load address; below 64 KiB */
#define PL_STACK		0x7000	/* top of the BSP's stack */
#define PL_DONE			0x600DD0E5	/* a payload's last report */
#define PL_GATE			0x6000	/* RAM dword for WAIT_GATE */

/* The recording test device: reads return (address + 1), truncated. */
#define PL_PORT_TEST		0x10
#define PL_PORT_TEST_LEN	16
#define PL_PORT_REPORT		0x500	/* 4 ports: dword results, in order */
#define PL_PORT_REPORT_LEN	4
#define PL_MMIO_TEST		0xD0000000	/* in the 32-bit MMIO hole */
#define PL_MMIO_TEST_LEN	0x1000

/* Accesses the hostile payload makes. */
#define PL_HOSTILE_ROUNDS	4096

/* Nobody claims these. */
#define PL_PORT_UNCLAIMED	0x90
#define PL_MMIO_UNCLAIMED	0xD0001000
#define PL_MMIO_ABOVE_RAM	0x400000	/* test VMs have 2 MiB */

/* evmm's devices: must equal vmm/layout.h (the tests check). */
#define PL_COM1			0x3F8
#define PL_COM1_LSR		(PL_COM1 + 5)
#define PL_LSR_DR		0x01
#define PL_LSR_THRE		0x20
#define PL_PM_BASE		0x600
#define PL_PM_SLEEP_CONTROL	(PL_PM_BASE + 0)
#define PL_PM_SLEEP_STATUS	(PL_PM_BASE + 1)
#define PL_PM_RESET		(PL_PM_BASE + 2)
#define PL_PM_RESET_VALUE	1
#define PL_PM_S5_SLP_EN		((5 << 2) | 0x20)

/* PCI: evmm's ports and ECAM; the pci test's 32-bit BAR window. */
#define PL_PCI_CF8		0xCF8
#define PL_PCI_CFC		0xCFC
#define PL_PCI_ECAM		0xE0000000
#define PL_PCI_WIN32		0xC0000000
#define PL_PCI_WIN32_LEN	0x10000000	/* short of PL_MMIO_TEST */

/* The xAPIC, as the BSP and APs of the smp payload use it. */
#define PL_LAPIC		0xFEE00000
#define PL_LAPIC_ID		(PL_LAPIC + 0x20)
#define PL_LAPIC_SVR		(PL_LAPIC + 0xF0)
#define PL_LAPIC_ICR_LO		(PL_LAPIC + 0x300)
#define PL_LAPIC_ICR_HI		(PL_LAPIC + 0x310)
#define PL_ICR_INIT		0x4500	/* INIT, level assert */
#define PL_ICR_SIPI		0x4600	/* start-up; | vector (page number) */
#define PL_ICR_ALL_BUT_SELF	0xC0000
#define PL_ICR_BUSY		0x1000	/* delivery status */
#define PL_LAPIC_EOI		(PL_LAPIC + 0xB0)

/* The msi payload: doorbells evmm's ioeventfds catch, an MSI's vector. */
#define PL_MSI_VECTOR		0x41
#define PL_MSI_READY		0x35171000
#define PL_MSI_DOORBELL		(PL_MMIO_TEST + 0x800)	/* 2 bytes */
#define PL_MSI_DOORBELL_MATCH	7	/* a write of 8 misses it */
#define PL_MSI_DOORBELL_ANY	(PL_MMIO_TEST + 0x804)	/* 4 bytes */
/* What each CPU of the smp payload reports: IDs from three sources. */
#define PL_SMP_REPORT(lapic, cpuid1, cpuidb) \
	(0xA5000000 | ((lapic) << 16) | ((cpuid1) << 8) | (cpuidb))

#ifdef __ASSEMBLER__

/* The guest address of a label: payloads are not linked, so no relocations. */
#define ABS(label)	((label) - payload_start + PL_BASE)

/* Selectors of FLAT_GDT. */
#define SEL_CODE32	0x08
#define SEL_DATA32	0x10

/* Reports %eax; clobbers %dx. Any mode. */
/* Real-mode entry every 16-bit payload shares: flat segments, a stack. */
.macro ENTRY16
	.code16
	.text
	.globl payload_start
payload_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $PL_STACK, %sp
.endm

.macro REPORT
	mov $PL_PORT_REPORT, %dx
	out %eax, %dx
.endm

.macro REPORT_IMM value
	mov $\value, %eax
	REPORT
.endm

/* Waits until the host opens the gate (ds = 0 or flat). */
.macro WAIT_GATE
1:	pause
	cmpl $0, PL_GATE
	je 1b
.endm

/* Stops this CPU for good: no interrupt can wake it. */
.macro HALT_FOREVER
1:	cli
	hlt
	jmp 1b
.endm

/* The flat 4 GiB code and data segments ENTER_PM32 loads. */
.macro FLAT_GDT
	.balign 8
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF	/* 0x08: code, 32-bit, base 0, 4 GiB */
	.quad 0x00CF92000000FFFF	/* 0x10: data, base 0, 4 GiB */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long ABS(gdt)
.endm

/*
 * From real mode (any %cs) to 32-bit protected mode with flat segments,
 * interrupts off; the stack is left to the caller. Needs FLAT_GDT.
 */
.macro ENTER_PM32
	.code16
	cli
	xor %ax, %ax
	mov %ax, %ds
	lgdtl ABS(gdt_desc)
	mov %cr0, %eax
	or $1, %al			/* PE */
	mov %eax, %cr0
	ljmpl $SEL_CODE32, $ABS(10f)	/* reload %cs: now 32-bit */
	.code32
10:	mov $SEL_DATA32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
.endm

#endif /* __ASSEMBLER__ */

#endif
