/*
 * The ACPI tables evmm gives the guest: RSDP → XSDT → {FACP, APIC, MCFG},
 * FACP → DSDT.
 * HW-reduced ACPI (no PM1/GPE blocks, no SCI, no FACS). Knows nothing of KVM:
 * the caller describes the machine and receives bytes.
 */
#ifndef EVMM_ACPI_TABLES_H
#define EVMM_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct acpi_platform {
	/* MADT: one Local APIC entry per possible CPU; UID = index. */
	unsigned int ncpus;
	const uint32_t *apic_ids;	/* ncpus entries */
	const bool *cpu_enabled;	/* ncpus entries: Enabled, else Online-Capable */
	uint64_t ioapic_addr;
	uint8_t ioapic_id;
	/*
	 * FADT: sleep control at pm_port + 0, sleep status at pm_port + 1,
	 * reset register at pm_port + 2 (value reset_value); all SystemIO, 8 bit.
	 */
	uint16_t pm_port;
	uint8_t reset_value;
	/* MCFG: PCI segment 0's ECAM window, buses 0..ecam_end_bus; 0: none. */
	uint64_t ecam_base;
	uint8_t ecam_end_bus;
	/* DSDT: AML terms of the devices (the tables add \_S5_ themselves). */
	const uint8_t *dsdt_aml;
	size_t dsdt_len;
};

/*
 * Lays out RSDP (first, at gpa, 16-byte aligned), XSDT, FACP, APIC, DSDT in buf,
 * which the guest sees at guest physical address gpa. Returns the bytes used,
 * or -ENOSPC if size is too small, -EINVAL for a bad description.
 */
ssize_t acpi_build_tables(const struct acpi_platform *p, uint8_t *buf,
			  size_t size, uint64_t gpa);

/* Sum of bytes mod 256 (0 for a table with a correct checksum). */
uint8_t acpi_checksum(const uint8_t *data, size_t len);

#endif
