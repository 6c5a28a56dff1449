/*
 * The guest's physical address map, in one place.
 *
 *   0x0000_0000  RAM (e820 usable) up to the EBDA; the AP trampoline lives here
 *   0x0000_0500  boot GDT, IDT
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_9000  boot page tables (PML4, PDPT, 4 PDs: identity map of 4 GiB)
 *   0x0002_0000  kernel command line
 *   0x0009_FC00  EBDA (e820 reserved up to 1 MiB)
 *   0x000E_0000  RSDP, then the other ACPI tables (e820 reserved)
 *   0x000F_FFF0  reset vector: a stub that writes the ACPI reset register
 *   0x0010_0000  kernel (protected-mode part of the bzImage), then RAM
 *   0xC000_0000  32-bit MMIO hole: PCI's 32-bit BAR window (512 MiB), PCI
 *                ECAM (0xE000_0000, 1 MiB), evmm devices, IOAPIC, LAPIC, TSS
 *   4 GiB        RAM that did not fit below the hole
 *   ...          hotplug region (128 MiB aligned, outside e820)
 *   ...          PCI's 64-bit BAR window: from the region's end rounded up to
 *                1 GiB, 64 GiB long or up to the guest's address width
 */
#ifndef EVMM_LAYOUT_H
#define EVMM_LAYOUT_H

#include "vmm/util.h"

#define LAYOUT_GDT		0x500ULL
#define LAYOUT_IDT		0x520ULL
#define LAYOUT_ZERO_PAGE	0x7000ULL
#define LAYOUT_PML4		0x9000ULL
#define LAYOUT_PDPT		0xA000ULL
#define LAYOUT_PD		0xB000ULL	/* 4 pages */
#define LAYOUT_BOOT_STACK	0x8FF0ULL
#define LAYOUT_CMDLINE		0x20000ULL
#define LAYOUT_CMDLINE_MAX	0x10000ULL
#define LAYOUT_EBDA		0x9FC00ULL
#define LAYOUT_ACPI		0xE0000ULL
#define LAYOUT_ACPI_SIZE	0x20000ULL
#define LAYOUT_RESET_VECTOR	0xFFFF0ULL
#define LAYOUT_KERNEL		0x100000ULL

#define LAYOUT_MMIO_HOLE	0xC0000000ULL
#define LAYOUT_MMIO_HOLE_END	0x100000000ULL
#define LAYOUT_PCI_WIN32	0xC0000000ULL
#define LAYOUT_PCI_WIN32_SIZE	0x20000000ULL
#define LAYOUT_PCI_ECAM		0xE0000000ULL	/* e820 reserved */
#define LAYOUT_PCI_ECAM_SIZE	0x100000ULL	/* bus 0 */
#define LAYOUT_PCI_WIN64_ALIGN	(1ULL << 30)
#define LAYOUT_PCI_WIN64_MAX	(64ULL << 30)
/* evmm's own MMIO devices (GED, hotplug controllers) */
#define LAYOUT_DEV_BASE		0xFE000000ULL
#define LAYOUT_DEV_SIZE		0x1000ULL
#define LAYOUT_GED		(LAYOUT_DEV_BASE + 0x00)	/* 4 bytes */
#define LAYOUT_IOAPIC		0xFEC00000ULL
#define LAYOUT_LAPIC		0xFEE00000ULL
#define LAYOUT_IDENTITY_MAP	0xFFFBC000ULL
#define LAYOUT_TSS		0xFFFBD000ULL
#define LAYOUT_HIGH_RAM		0x100000000ULL

/* Port I/O */
#define PORT_COM1		0x3F8
#define PORT_PM_BASE		0x600	/* sleep control, sleep status, reset */
#define PORT_CPU_HP		0xCD8	/* 12 bytes, as on QEMU's PC machines */
#define PORT_MEM_HP		0xA00	/* 24 bytes, as on QEMU's PC machines */
#define PORT_PCI_CF8		0xCF8	/* address, then data at 0xCFC */
#define PM_SLEEP_CONTROL	0
#define PM_SLEEP_STATUS		1
#define PM_RESET		2
#define PM_RESET_VALUE		1

/* IOAPIC pins (GSIs) */
#define GSI_COM1		4
#define GSI_GED			5

#endif
