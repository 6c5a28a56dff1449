/*
 * ACPI tables for a HW-reduced x86_64 guest (ACPI 6.5 chapter 5.2).
 * Each table is a packed struct whose field offsets are checked against the
 * spec by static asserts; multi-byte fields are stored little-endian.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "acpi/aml.h"
#include "acpi/tables.h"

#define ACPI_OEM_ID		"EVMM  "
#define ACPI_CREATOR_ID		"EVMM"
#define ACPI_HYPERVISOR_ID	"EVMMKVM"	/* 8 bytes with its NUL */
#define ACPI_LAPIC_ADDR		0xfee00000u

/* Generic Address Structure (§5.2.3.2) */
struct acpi_gas {
	uint8_t space_id;		/* 0 SystemMemory, 1 SystemIO */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;		/* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE	1

/* RSDP, revision 2 (§5.2.5.3) */
struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	uint8_t checksum;		/* bytes 0..19 */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum;		/* whole structure */
	uint8_t reserved[3];
} __attribute__((packed));

/* System Description Table Header (§5.2.6) */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* XSDT (§5.2.8), with up to three entries. */
struct acpi_xsdt {
	struct acpi_header h;
	uint64_t entry[3];		/* FACP, APIC, MCFG if ECAM */
} __attribute__((packed));

/* MCFG (PCI Firmware Specification 3.2, §4.1.2): one ECAM allocation. */
struct acpi_mcfg {
	struct acpi_header h;
	uint64_t reserved;
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved2;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 60, "MCFG");

/* FADT, revision 6 (§5.2.9, Table 5.9). The legacy blocks stay zero. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t legacy1[109 - 44];	/* reserved .. CENTURY: unused here */
	uint16_t iapc_boot_arch;
	uint8_t reserved;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_legacy[8];	/* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	struct acpi_gas sleep_control;
	struct acpi_gas sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP length");
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header length");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "RESET_REG");
_Static_assert(offsetof(struct acpi_fadt, reset_value) == 128, "RESET_VALUE");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == 131, "FADT minor");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "SLEEP_CONTROL_REG");
_Static_assert(offsetof(struct acpi_fadt, sleep_status) == 256, "SLEEP_STATUS_REG");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT length");

/* FADT Flags (Table 5.10) and IA-PC boot architecture flags (Table 5.11). */
#define FADT_PWR_BUTTON		(1u << 4)	/* no fixed power button */
#define FADT_SLP_BUTTON		(1u << 5)	/* no fixed sleep button */
#define FADT_TMR_VAL_EXT	(1u << 8)
#define FADT_RESET_REG_SUP	(1u << 10)
#define FADT_HW_REDUCED_ACPI	(1u << 20)
#define IAPC_VGA_NOT_PRESENT	(1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* MADT (§5.2.12) and its interrupt controller structures. */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {			/* type 0, §5.2.12.2 */
	uint8_t type, length, uid, apic_id;
	uint32_t flags;			/* bit0 Enabled, bit1 Online Capable */
} __attribute__((packed));

struct madt_ioapic {			/* type 1, §5.2.12.3 */
	uint8_t type, length, id, reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {			/* type 2, §5.2.12.5 */
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {			/* type 4, §5.2.12.7 */
	uint8_t type, length, uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header");
_Static_assert(sizeof(struct madt_lapic) == 8, "Local APIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "I/O APIC");
_Static_assert(sizeof(struct madt_iso) == 10, "Interrupt Source Override");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "Local APIC NMI");

#define MADT_ENABLED		1u
#define MADT_ONLINE_CAPABLE	2u
#define MADT_MAX_CPUS		255	/* UIDs 0..254; 0xFF means "all" */
#define MADT_MAX_APIC_ID	254	/* 0xFF is the broadcast ID */

uint8_t acpi_checksum(const uint8_t *data, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *data++;
	return sum;
}

static uint64_t acpi_align8(uint64_t v)
{
	return (v + 7) & ~7ULL;
}

static void acpi_header_init(struct acpi_header *h, const char *sig,
			     uint32_t len, uint8_t rev, const char *table_id)
{
	memcpy(h->signature, sig, 4);
	h->length = htole32(len);
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, table_id, 8);
	h->oem_revision = htole32(1);
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = htole32(1);
}

/* Sets the checksum byte (offset 9) so that the whole table sums to 0. */
static void acpi_table_finish(uint8_t *table)
{
	struct acpi_header *h = (struct acpi_header *)table;

	h->checksum = 0;
	h->checksum = -acpi_checksum(table, le32toh(h->length));
}

static void acpi_gas_io8(struct acpi_gas *gas, uint16_t port)
{
	gas->space_id = ACPI_GAS_SYSTEM_IO;
	gas->bit_width = 8;
	gas->bit_offset = 0;
	gas->access_size = ACPI_GAS_ACCESS_BYTE;
	gas->address = htole64(port);
}

/* \_S5_: SLP_TYPa = 5 is what the guest writes to SLEEP_CONTROL (§7.4.2). */
static struct aml *acpi_s5(struct aml_ctx *ctx)
{
	struct aml *pkg = aml_package(ctx);

	aml_append(pkg, aml_int(ctx, 5));
	aml_append(pkg, aml_int(ctx, 0));
	aml_append(pkg, aml_int(ctx, 0));
	aml_append(pkg, aml_int(ctx, 0));
	return aml_name_decl(ctx, "\\_S5_", pkg);
}

/* Where each table goes, relative to the start of the buffer. */
struct acpi_layout {
	size_t xsdt, fadt, madt, mcfg, dsdt, end;
	size_t madt_len, dsdt_len;
};

static size_t acpi_madt_len(unsigned int ncpus)
{
	return sizeof(struct acpi_madt) + ncpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

static void acpi_layout(const struct acpi_platform *p, size_t s5_len,
			struct acpi_layout *l)
{
	l->xsdt = acpi_align8(sizeof(struct acpi_rsdp));
	l->fadt = acpi_align8(l->xsdt + sizeof(struct acpi_xsdt) -
			      (p->ecam_base ? 0 : sizeof(uint64_t)));
	l->madt = acpi_align8(l->fadt + sizeof(struct acpi_fadt));
	l->madt_len = acpi_madt_len(p->ncpus);
	l->mcfg = acpi_align8(l->madt + l->madt_len);
	l->dsdt = l->mcfg;
	if (p->ecam_base)
		l->dsdt = acpi_align8(l->mcfg + sizeof(struct acpi_mcfg));
	l->dsdt_len = sizeof(struct acpi_header) + p->dsdt_len + s5_len;
	l->end = l->dsdt + l->dsdt_len;
}

static int acpi_check(const struct acpi_platform *p, uint64_t gpa)
{
	unsigned int i;

	if (!p || gpa % 16 || !p->ncpus || p->ncpus > MADT_MAX_CPUS ||
	    !p->apic_ids || !p->cpu_enabled || (p->dsdt_len && !p->dsdt_aml) ||
	    p->ioapic_addr > UINT32_MAX || p->dsdt_len > UINT32_MAX)
		return -EINVAL;
	for (i = 0; i < p->ncpus; i++)
		if (p->apic_ids[i] > MADT_MAX_APIC_ID)
			return -EINVAL;
	return 0;
}

static void acpi_put_rsdp(uint8_t *buf, uint64_t xsdt_gpa)
{
	struct acpi_rsdp r = { .revision = 2 };

	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.length = htole32(sizeof(r));
	r.xsdt_address = htole64(xsdt_gpa);
	r.checksum = -acpi_checksum((uint8_t *)&r, 20);
	r.ext_checksum = -acpi_checksum((uint8_t *)&r, sizeof(r));
	memcpy(buf, &r, sizeof(r));
}

/* mcfg_gpa 0: no MCFG entry. */
static void acpi_put_xsdt(uint8_t *buf, uint64_t fadt_gpa, uint64_t madt_gpa,
			  uint64_t mcfg_gpa)
{
	struct acpi_xsdt x = { 0 };
	size_t len = sizeof(x) - (mcfg_gpa ? 0 : sizeof(x.entry[0]));

	acpi_header_init(&x.h, "XSDT", len, 1, "EVMMXSDT");
	x.entry[0] = htole64(fadt_gpa);
	x.entry[1] = htole64(madt_gpa);
	x.entry[2] = htole64(mcfg_gpa);
	memcpy(buf, &x, len);
	acpi_table_finish(buf);
}

static void acpi_put_mcfg(uint8_t *buf, const struct acpi_platform *p)
{
	struct acpi_mcfg m = { 0 };

	acpi_header_init(&m.h, "MCFG", sizeof(m), 1, "EVMMMCFG");
	m.base = htole64(p->ecam_base);
	m.end_bus = p->ecam_end_bus;
	memcpy(buf, &m, sizeof(m));
	acpi_table_finish(buf);
}

static void acpi_put_fadt(uint8_t *buf, const struct acpi_platform *p,
			  uint64_t dsdt_gpa)
{
	struct acpi_fadt f = { 0 };

	acpi_header_init(&f.h, "FACP", sizeof(f), 6, "EVMMFACP");
	f.dsdt = htole32(dsdt_gpa);
	f.x_dsdt = htole64(dsdt_gpa);
	f.iapc_boot_arch = htole16(IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT);
	f.flags = htole32(FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP |
			  FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_TMR_VAL_EXT);
	acpi_gas_io8(&f.reset_reg, p->pm_port + 2);
	f.reset_value = p->reset_value;
	f.minor_version = 5;
	acpi_gas_io8(&f.sleep_control, p->pm_port);
	acpi_gas_io8(&f.sleep_status, p->pm_port + 1);
	memcpy(&f.hypervisor_id, ACPI_HYPERVISOR_ID, 8);
	memcpy(buf, &f, sizeof(f));
	acpi_table_finish(buf);
}

/* Every possible CPU is listed; hotpluggable ones as Online Capable (rev 5+). */
static uint8_t *acpi_put_lapics(uint8_t *out, const struct acpi_platform *p)
{
	struct madt_lapic l = { .type = 0, .length = sizeof(l) };
	unsigned int i;

	for (i = 0; i < p->ncpus; i++) {
		l.uid = i;
		l.apic_id = p->apic_ids[i];
		l.flags = htole32(p->cpu_enabled[i] ? MADT_ENABLED
						    : MADT_ONLINE_CAPABLE);
		memcpy(out, &l, sizeof(l));
		out += sizeof(l);
	}
	return out;
}

static void acpi_put_madt(uint8_t *buf, const struct acpi_platform *p, size_t len)
{
	struct acpi_madt m = { .lapic_address = htole32(ACPI_LAPIC_ADDR) };
	struct madt_ioapic io = { .type = 1, .length = sizeof(io) };
	struct madt_iso iso = { .type = 2, .length = sizeof(iso) };
	struct madt_lapic_nmi nmi = { .type = 4, .length = sizeof(nmi) };
	uint8_t *out = buf + sizeof(m);

	acpi_header_init(&m.h, "APIC", len, 5, "EVMMAPIC");
	memcpy(buf, &m, sizeof(m));
	out = acpi_put_lapics(out, p);
	io.id = p->ioapic_id;
	io.address = htole32(p->ioapic_addr);
	memcpy(out, &io, sizeof(io));
	out += sizeof(io);
	/* The PIT's IRQ0 is wired to IOAPIC pin 2; flags 0: ISA edge/high. */
	iso.source = 0;
	iso.gsi = htole32(2);
	memcpy(out, &iso, sizeof(iso));
	out += sizeof(iso);
	nmi.uid = 0xff;			/* all processors */
	nmi.lint = 1;
	memcpy(out, &nmi, sizeof(nmi));
	acpi_table_finish(buf);
}

static void acpi_put_dsdt(uint8_t *buf, const struct acpi_platform *p,
			  const struct aml *s5, size_t len)
{
	struct acpi_header h = { 0 };

	acpi_header_init(&h, "DSDT", len, 2, "EVMMDSDT");
	memcpy(buf, &h, sizeof(h));
	if (p->dsdt_len)
		memcpy(buf + sizeof(h), p->dsdt_aml, p->dsdt_len);
	aml_encode(s5, buf + sizeof(h) + p->dsdt_len);
	acpi_table_finish(buf);
}

static void acpi_put_all(const struct acpi_platform *p, uint8_t *buf,
			 uint64_t gpa, const struct acpi_layout *l,
			 const struct aml *s5)
{
	memset(buf, 0, l->end);
	acpi_put_rsdp(buf, gpa + l->xsdt);
	acpi_put_xsdt(buf + l->xsdt, gpa + l->fadt, gpa + l->madt,
		      p->ecam_base ? gpa + l->mcfg : 0);
	if (p->ecam_base)
		acpi_put_mcfg(buf + l->mcfg, p);
	acpi_put_fadt(buf + l->fadt, p, gpa + l->dsdt);
	acpi_put_madt(buf + l->madt, p, l->madt_len);
	acpi_put_dsdt(buf + l->dsdt, p, s5, l->dsdt_len);
}

ssize_t acpi_build_tables(const struct acpi_platform *p, uint8_t *buf,
			  size_t size, uint64_t gpa)
{
	struct acpi_layout l;
	struct aml_ctx *ctx;
	struct aml *s5;
	int err = acpi_check(p, gpa);

	if (err)
		return err;
	ctx = aml_ctx_new();
	s5 = acpi_s5(ctx);
	acpi_layout(p, aml_size(s5), &l);
	/* DSDT and the 32-bit FADT.DSDT pointer must stay below 4 GiB. */
	if (gpa > (1ULL << 32) || l.end > (1ULL << 32) - gpa)
		err = -EINVAL;
	else if (l.end > size || !buf)
		err = -ENOSPC;
	else
		acpi_put_all(p, buf, gpa, &l, s5);
	aml_ctx_free(ctx);
	return err ? err : (ssize_t)l.end;
}
