/*
 * Resource descriptors for ResourceTemplate buffers (ACPI 6.5 §6.4).
 * Each is a fixed byte layout; aml_resource_template() adds the EndTag.
 * Multi-byte fields are little-endian.
 */
#include <stdint.h>

#include "acpi/aml.h"
#include "acpi/aml_priv.h"

static uint8_t *aml_res_le(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		*p++ = v & 0xff;
		v >>= 8;
	}
	return p;
}

/* I/O Port Descriptor (§6.4.2.5): small item 0x08, length 7. */
struct aml *aml_io(struct aml_ctx *ctx, uint16_t min, uint16_t max,
		   uint8_t align, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01 };		/* Decode16 */

	aml_res_le(d + 2, min, 2);
	aml_res_le(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	return aml_bytes(ctx, d, sizeof(d));
}

/* IRQ Descriptor (§6.4.2.1): small item 0x04, length 2 (no flags byte). */
struct aml *aml_irq_noflags(struct aml_ctx *ctx, uint8_t irq)
{
	uint8_t d[3] = { 0x22 };

	if (irq > 15)
		aml_die("IRQNoFlags takes an ISA IRQ (0-15)", NULL);
	aml_res_le(d + 1, 1u << irq, 2);
	return aml_bytes(ctx, d, sizeof(d));
}

/*
 * Extended Interrupt Descriptor (§6.4.3.6): large item 0x09, length 6 for
 * one interrupt. Flags: bit0 consumer, bit1 edge, bit2 active-low,
 * bit3 shared (0: Exclusive).
 */
struct aml *aml_interrupt(struct aml_ctx *ctx, uint32_t gsi, int level,
			  int active_low)
{
	uint8_t d[9] = { 0x89, 6, 0 };

	d[3] = 0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0);
	d[4] = 1;				/* interrupt table length */
	aml_res_le(d + 5, gsi, 4);
	return aml_bytes(ctx, d, sizeof(d));
}

/* 32-Bit Fixed Memory Range Descriptor (§6.4.3.4): large item 0x06, length 9. */
struct aml *aml_memory32_fixed(struct aml_ctx *ctx, uint32_t base, uint32_t len,
			       int rw)
{
	uint8_t d[12] = { 0x86, 9, 0 };

	d[3] = rw ? 1 : 0;
	aml_res_le(d + 4, base, 4);
	aml_res_le(d + 8, len, 4);
	return aml_bytes(ctx, d, sizeof(d));
}

/*
 * QWord Address Space Descriptor (§6.4.3.5.1): large item 0x0A, length 43.
 * Type 0 memory; general flags 0x0C = ResourceProducer, PosDecode, MinFixed,
 * MaxFixed; type flags 0x03 = Cacheable, ReadWrite. Layout: 6 granularity,
 * 14 min, 22 max, 30 translation, 38 length.
 */
struct aml *aml_qword_memory(struct aml_ctx *ctx, uint64_t min, uint64_t len)
{
	uint8_t d[46] = { 0x8a, 43, 0, 0x00, 0x0c, 0x03 };
	uint64_t max = len ? min + len - 1 : min;

	aml_res_le(d + 14, min, 8);
	aml_res_le(d + 22, max, 8);
	aml_res_le(d + 38, len, 8);
	return aml_bytes(ctx, d, sizeof(d));
}

/*
 * Word Address Space Descriptor (§6.4.3.5.3), resource type 2 (bus
 * numbers): large item 0x08, length 13; producer, MinFixed, MaxFixed.
 * Layout: 6 granularity, 8 min, 10 max, 12 translation, 14 length.
 */
struct aml *aml_word_bus_number(struct aml_ctx *ctx, uint16_t min,
				uint16_t max)
{
	uint8_t d[16] = { 0x88, 13, 0, 0x02, 0x0c, 0x00 };

	aml_res_le(d + 8, min, 2);
	aml_res_le(d + 10, max, 2);
	aml_res_le(d + 14, max - min + 1, 2);
	return aml_bytes(ctx, d, sizeof(d));
}

/*
 * DWord Address Space Descriptor (§6.4.3.5.2), memory: large item 0x07,
 * length 23; producer, MinFixed, MaxFixed; NonCacheable, ReadWrite (MMIO).
 * Layout: 6 granularity, 10 min, 14 max, 18 translation, 22 length.
 */
struct aml *aml_dword_memory(struct aml_ctx *ctx, uint32_t min, uint32_t len)
{
	uint8_t d[26] = { 0x87, 23, 0, 0x00, 0x0c, 0x01 };

	aml_res_le(d + 10, min, 4);
	aml_res_le(d + 14, len ? min + len - 1 : min, 4);
	aml_res_le(d + 22, len, 4);
	return aml_bytes(ctx, d, sizeof(d));
}
