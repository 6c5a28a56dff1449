/*
 * ACPI tables: checksums, offsets from the spec, error returns, and an
 * iasl round trip (disassemble every table; recompile the DSDT and compare
 * its AML with ours byte for byte).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "acpi/tables.h"
#include "tests/unit/iasl.h"

#define GPA		0xe0000ULL
#define BUF_SIZE	0x20000

/* 3 boot CPUs of 5 possible, with non-contiguous APIC IDs. */
static const uint32_t apic_ids[5] = { 0, 2, 4, 9, 16 };
static const bool cpu_enabled[5] = { true, true, true, false, false };

static uint8_t *dsdt_aml;
static size_t dsdt_len;
static uint8_t *buf;
static ssize_t used;

static uint16_t rd16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static struct aml *com1(struct aml_ctx *c)
{
	struct aml *dev = aml_device(c, "COM1"), *crs = aml_resource_template(c);

	aml_append(dev, aml_name_decl(c, "_HID", aml_eisaid(c, "PNP0501")));
	aml_append(dev, aml_name_decl(c, "_UID", aml_int(c, 0)));
	aml_append(crs, aml_io(c, 0x3f8, 0x3f8, 0, 8));
	aml_append(crs, aml_irq_noflags(c, 4));
	aml_append(dev, aml_name_decl(c, "_CRS", crs));
	return dev;
}

static struct aml *pwrb(struct aml_ctx *c)
{
	struct aml *dev = aml_device(c, "PWRB");

	aml_append(dev, aml_name_decl(c, "_HID", aml_eisaid(c, "PNP0C0C")));
	aml_append(dev, aml_name_decl(c, "_UID", aml_int(c, 0)));
	return dev;
}

/* _EVT: a region and field in SystemMemory, Ifs on field bits that Notify. */
static struct aml *ged_evt(struct aml_ctx *c)
{
	struct aml *m = aml_method(c, "_EVT", 1, 1);
	struct aml *f, *iff, *els;

	aml_append(m, aml_operation_region(c, "EREG", AML_SYSTEM_MEMORY,
					   0xfe000000, 4));
	f = aml_field(c, "EREG", AML_DWORD_ACC, AML_WRITE_AS_ZEROS);
	aml_append(f, aml_named_field(c, "CPUE", 1));
	aml_append(f, aml_named_field(c, "MEME", 1));
	aml_append(f, aml_reserved_field(c, 1));
	aml_append(f, aml_named_field(c, "PWRE", 1));
	aml_append(f, aml_field_offset(c, 2));
	aml_append(f, aml_named_field(c, "ECNT", 16));
	aml_append(m, f);
	aml_append(m, aml_acquire(c, aml_name(c, "ELCK"), 0xffff));
	iff = aml_if(c, aml_lequal(c, aml_name(c, "PWRE"), aml_int(c, 1)));
	aml_append(iff, aml_notify(c, aml_name(c, "\\_SB.PWRB"), aml_int(c, 0x80)));
	aml_append(m, iff);
	iff = aml_if(c, aml_land(c, aml_lequal(c, aml_arg(c, 0), aml_int(c, 5)),
				 aml_lequal(c, aml_name(c, "CPUE"), aml_int(c, 1))));
	aml_append(iff, aml_notify(c, aml_name(c, "\\_SB.COM1"), aml_int(c, 1)));
	els = aml_else(c);
	aml_append(els, aml_sleep(c, 1));
	aml_append(m, iff);
	aml_append(m, els);
	aml_append(m, aml_release(c, aml_name(c, "ELCK")));
	return m;
}

static struct aml *ged(struct aml_ctx *c)
{
	struct aml *dev = aml_device(c, "GED"), *crs = aml_resource_template(c);

	aml_append(dev, aml_name_decl(c, "_HID", aml_string(c, "ACPI0013")));
	aml_append(dev, aml_name_decl(c, "_UID", aml_int(c, 0)));
	aml_append(crs, aml_interrupt(c, 5, 0, 0));
	aml_append(dev, aml_name_decl(c, "_CRS", crs));
	aml_append(dev, aml_mutex(c, "ELCK", 0));
	aml_append(dev, ged_evt(c));
	return dev;
}

static void make_dsdt_aml(void)
{
	struct aml_ctx *c = aml_ctx_new();
	struct aml *sb = aml_scope(c, "\\_SB");

	aml_append(sb, com1(c));
	aml_append(sb, pwrb(c));
	aml_append(sb, ged(c));
	dsdt_len = aml_size(sb);
	dsdt_aml = malloc(dsdt_len);
	ck_assert_ptr_nonnull(dsdt_aml);
	aml_encode(sb, dsdt_aml);
	aml_ctx_free(c);
}

static struct acpi_platform platform(void)
{
	return (struct acpi_platform){
		.ncpus = 5,
		.apic_ids = apic_ids,
		.cpu_enabled = cpu_enabled,
		.ioapic_addr = 0xfec00000,
		.ioapic_id = 1,
		.pm_port = 0x600,
		.reset_value = 0x42,
		.dsdt_aml = dsdt_aml,
		.dsdt_len = dsdt_len,
	};
}

static void setup(void)
{
	struct acpi_platform p;

	make_dsdt_aml();
	p = platform();
	buf = calloc(1, BUF_SIZE);
	ck_assert_ptr_nonnull(buf);
	used = acpi_build_tables(&p, buf, BUF_SIZE, GPA);
	ck_assert_int_gt(used, 0);
}

static void teardown(void)
{
	free(buf);
	free(dsdt_aml);
	buf = dsdt_aml = NULL;
}

/* Finds a table through the pointers, as the guest does. */
static const uint8_t *table_at(uint64_t addr)
{
	ck_assert_uint_ge(addr, GPA);
	ck_assert_uint_lt(addr - GPA, (uint64_t)used);
	ck_assert_uint_eq(addr % 8, 0);
	return buf + (addr - GPA);
}

static const uint8_t *xsdt(void)
{
	return table_at(rd64(buf + 24));
}

static const uint8_t *fadt(void)
{
	return table_at(rd64(xsdt() + 36));
}

static const uint8_t *madt(void)
{
	return table_at(rd64(xsdt() + 44));
}

static const uint8_t *dsdt(void)
{
	return table_at(rd64(fadt() + 140));
}

/* Header fields (ACPI 6.5 §5.2.6) and the whole-table checksum. */
static void check_header(const uint8_t *t, const char *sig, uint32_t len,
			 uint8_t rev, const char *table_id)
{
	ck_assert_mem_eq(t, sig, 4);
	ck_assert_uint_eq(rd32(t + 4), len);
	ck_assert_uint_eq(t[8], rev);
	ck_assert_uint_eq(acpi_checksum(t, len), 0);
	ck_assert_mem_eq(t + 10, "EVMM  ", 6);
	ck_assert_mem_eq(t + 16, table_id, 8);
	ck_assert_uint_eq(rd32(t + 24), 1);
	ck_assert_mem_eq(t + 28, "EVMM", 4);
	ck_assert_uint_eq(rd32(t + 32), 1);
}

START_TEST(test_checksum_fn)
{
	static const uint8_t data[] = { 0x10, 0x20, 0xf0, 0x31 };

	ck_assert_uint_eq(acpi_checksum(data, 4), 0x51);
	ck_assert_uint_eq(acpi_checksum(data, 0), 0);
}
END_TEST

/* RSDP (§5.2.5.3) */
START_TEST(test_rsdp)
{
	ck_assert_mem_eq(buf, "RSD PTR ", 8);
	ck_assert_uint_eq(acpi_checksum(buf, 20), 0);
	ck_assert_uint_eq(acpi_checksum(buf, 36), 0);
	ck_assert_mem_eq(buf + 9, "EVMM  ", 6);
	ck_assert_uint_eq(buf[15], 2);
	ck_assert_uint_eq(rd32(buf + 16), 0);		/* no RSDT */
	ck_assert_uint_eq(rd32(buf + 20), 36);
	ck_assert_uint_eq(rd64(buf + 24), GPA + 40);	/* XSDT right after */
	ck_assert_mem_eq(buf + 33, "\0\0\0", 3);
}
END_TEST

/* XSDT (§5.2.8): FACP and APIC */
START_TEST(test_xsdt)
{
	const uint8_t *x = xsdt();

	check_header(x, "XSDT", 52, 1, "EVMMXSDT");
	ck_assert_mem_eq(table_at(rd64(x + 36)), "FACP", 4);
	ck_assert_mem_eq(table_at(rd64(x + 44)), "APIC", 4);
}
END_TEST

static void check_gas_io8(const uint8_t *g, uint64_t port)
{
	ck_assert_uint_eq(g[0], 1);		/* SystemIO */
	ck_assert_uint_eq(g[1], 8);		/* bit width */
	ck_assert_uint_eq(g[2], 0);		/* bit offset */
	ck_assert_uint_eq(g[3], 1);		/* byte access */
	ck_assert_uint_eq(rd64(g + 4), port);
}

/* FADT (§5.2.9, Table 5.9) */
START_TEST(test_fadt)
{
	const uint8_t *f = fadt();
	uint64_t dsdt_gpa = rd64(f + 140);
	static const uint8_t zero[276];

	check_header(f, "FACP", 276, 6, "EVMMFACP");
	ck_assert_uint_eq(rd32(f + 36), 0);		/* no FACS */
	ck_assert_uint_eq(rd32(f + 40), dsdt_gpa);
	ck_assert_mem_eq(table_at(dsdt_gpa), "DSDT", 4);
	ck_assert_mem_eq(f + 44, zero, 109 - 44);	/* SCI, PM1, GPE: none */
	ck_assert_uint_eq(rd16(f + 109), 0x24);		/* no RTC, no VGA, no 8042 */
	ck_assert_uint_eq(rd32(f + 112), 1u << 20 | 1u << 10 | 1u << 8 |
					 1u << 5 | 1u << 4);
	check_gas_io8(f + 116, 0x602);			/* RESET_REG */
	ck_assert_uint_eq(f[128], 0x42);		/* RESET_VALUE */
	ck_assert_uint_eq(rd16(f + 129), 0);
	ck_assert_uint_eq(f[131], 5);			/* minor version */
	ck_assert_uint_eq(rd64(f + 132), 0);		/* X_FIRMWARE_CTRL */
	ck_assert_mem_eq(f + 148, zero, 244 - 148);	/* X_PM1a..X_GPE1 */
	check_gas_io8(f + 244, 0x600);			/* SLEEP_CONTROL_REG */
	check_gas_io8(f + 256, 0x601);			/* SLEEP_STATUS_REG */
	ck_assert_mem_eq(f + 268, "EVMMKVM\0", 8);
}
END_TEST

/* MADT (§5.2.12) */
START_TEST(test_madt)
{
	const uint8_t *m = madt(), *e;
	unsigned int i;

	check_header(m, "APIC", 44 + 5 * 8 + 12 + 10 + 6, 5, "EVMMAPIC");
	ck_assert_uint_eq(rd32(m + 36), 0xfee00000);
	ck_assert_uint_eq(rd32(m + 40), 0);
	for (i = 0, e = m + 44; i < 5; i++, e += 8) {
		ck_assert_uint_eq(e[0], 0);
		ck_assert_uint_eq(e[1], 8);
		ck_assert_uint_eq(e[2], i);			/* UID */
		ck_assert_uint_eq(e[3], apic_ids[i]);
		ck_assert_uint_eq(rd32(e + 4), i < 3 ? 1 : 2);	/* Enabled / Online Capable */
	}
	ck_assert_mem_eq(e, "\x01\x0c\x01\x00", 4);		/* I/O APIC, id 1 */
	ck_assert_uint_eq(rd32(e + 4), 0xfec00000);
	ck_assert_uint_eq(rd32(e + 8), 0);			/* GSI base */
	e += 12;
	ck_assert_mem_eq(e, "\x02\x0a\x00\x00", 4);		/* ISA IRQ 0 */
	ck_assert_uint_eq(rd32(e + 4), 2);			/* → GSI 2 */
	ck_assert_uint_eq(rd16(e + 8), 0);
	e += 10;
	ck_assert_mem_eq(e, "\x04\x06\xff\x00\x00\x01", 6);	/* all CPUs, LINT1 */
}
END_TEST

/* DSDT: the caller's AML, then Name (\_S5_, Package (4) {5, 0, 0, 0}). */
START_TEST(test_dsdt)
{
	static const uint8_t s5[] = "\x08\\_S5_\x12\x07\x04\x0a\x05\x00\x00\x00";
	const uint8_t *d = dsdt();
	size_t len = 36 + dsdt_len + sizeof(s5) - 1;

	check_header(d, "DSDT", len, 2, "EVMMDSDT");
	ck_assert_mem_eq(d + 36, dsdt_aml, dsdt_len);
	ck_assert_mem_eq(d + 36 + dsdt_len, s5, sizeof(s5) - 1);
	ck_assert_int_eq(used, d + len - buf);		/* DSDT is last */
}
END_TEST

/* RSDP, XSDT, FACP, APIC, DSDT in order, 8-byte aligned, no overlap. */
START_TEST(test_layout)
{
	const uint8_t *t[] = { buf, xsdt(), fadt(), madt(), dsdt() };
	size_t i, len;

	for (i = 0; i + 1 < 5; i++) {
		len = i ? rd32(t[i] + 4) : 36;
		ck_assert(t[i] + len <= t[i + 1]);
		ck_assert_int_lt(t[i + 1] - (t[i] + len), 8);
	}
}
END_TEST

START_TEST(test_one_and_max_cpus)
{
	static uint32_t ids[255];
	static bool en[255];
	struct acpi_platform p = platform();
	unsigned int i;

	for (i = 0; i < 255; i++)
		ids[i] = 254 - i;
	en[0] = true;
	p.apic_ids = ids;
	p.cpu_enabled = en;
	p.ncpus = 1;
	ck_assert_int_gt(acpi_build_tables(&p, buf, BUF_SIZE, GPA), 0);
	ck_assert_uint_eq(rd32(madt() + 4), 44 + 8 + 28);
	p.ncpus = 255;
	ck_assert_int_gt(acpi_build_tables(&p, buf, BUF_SIZE, GPA), 0);
	ck_assert_uint_eq(rd32(madt() + 4), 44 + 255 * 8 + 28);
	ck_assert_uint_eq(madt()[44 + 254 * 8 + 2], 254);	/* last UID */
	ck_assert_uint_eq(madt()[44 + 254 * 8 + 3], 0);
	ck_assert_uint_eq(acpi_checksum(madt(), rd32(madt() + 4)), 0);
}
END_TEST

START_TEST(test_enospc)
{
	struct acpi_platform p = platform();

	ck_assert_int_eq(acpi_build_tables(&p, buf, 0, GPA), -ENOSPC);
	ck_assert_int_eq(acpi_build_tables(&p, buf, 36, GPA), -ENOSPC);
	ck_assert_int_eq(acpi_build_tables(&p, buf, used - 1, GPA), -ENOSPC);
	ck_assert_int_eq(acpi_build_tables(&p, buf, used, GPA), used);
}
END_TEST

/* Each case breaks one thing in an otherwise good description. */
START_TEST(test_einval)
{
	static const uint32_t bad_ids[5] = { 0, 1, 2, 255, 4 };
	struct acpi_platform p = platform();
	uint64_t gpa = GPA;

	switch (_i) {
	case 0: p.ncpus = 0; break;
	case 1: p.ncpus = 256; break;
	case 2: p.apic_ids = bad_ids; break;
	case 3: gpa = GPA + 8; break;			/* not 16-byte aligned */
	case 4: gpa = 0x100000000ULL - 256; break; /* crosses 4 GiB */
	case 5: gpa = 0x100000000ULL; break;		/* above 4 GiB */
	case 6: p.ioapic_addr = 0x100000000ULL; break;
	case 7: p.apic_ids = NULL; break;
	case 8: p.cpu_enabled = NULL; break;
	case 9: p.dsdt_aml = NULL; break;
	}
	ck_assert_int_eq(acpi_build_tables(&p, buf, BUF_SIZE, gpa), -EINVAL);
}
END_TEST

START_TEST(test_null_platform)
{
	ck_assert_int_eq(acpi_build_tables(NULL, buf, BUF_SIZE, GPA), -EINVAL);
}
END_TEST

/* Just below 4 GiB is fine when everything fits. */
START_TEST(test_top_of_4g)
{
	struct acpi_platform p = platform();
	uint64_t gpa = (0x100000000ULL - used) & ~15ULL;

	ck_assert_int_eq(acpi_build_tables(&p, buf, BUF_SIZE, gpa), used);
	ck_assert_uint_eq(rd32(buf + 24 + 4), 0);	/* XSDT high half */
}
END_TEST

/* --- iasl ------------------------------------------------------------------ */

static void expect_clean(const char *base, const uint8_t *t)
{
	const char *why;

	iasl_write_table(base, t);
	why = iasl_disassemble(base);
	ck_assert_msg(!why, "%s", why);
}

/* iasl 20200925 cannot disassemble a bare RSDP; test_rsdp checks it instead. */
START_TEST(test_iasl_tables)
{
	expect_clean("dsdt", dsdt());
	expect_clean("facp", fadt());
	expect_clean("apic", madt());
	expect_clean("xsdt", xsdt());
}
END_TEST

START_TEST(test_iasl_dsdt_content)
{
	static const char *const want[] = {
		"Device (COM1)", "EisaId (\"PNP0501\")", "IRQNoFlags ()",
		"0x03F8,", "Name (_HID, \"ACPI0013\"",
		"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive",
		"Method (_EVT, 1, Serialized)",
		"OperationRegion (EREG, SystemMemory, 0xFE000000, 0x04)",
		"Field (EREG, DWordAcc, NoLock, WriteAsZeros)", "Offset (0x02)",
		"If ((PWRE == One))", "Notify (\\_SB.PWRB, 0x80)", "Else",
		"Acquire (ELCK, 0xFFFF)", "Name (\\_S5, Package (0x04)",
	};
	char *dsl;
	size_t i;

	expect_clean("content", dsdt());
	dsl = iasl_read("content.dsl", NULL);
	ck_assert_ptr_nonnull(dsl);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(dsl, want[i]), "no \"%s\" in:\n%s", want[i], dsl);
	free(dsl);
}
END_TEST

START_TEST(test_iasl_dsdt_recompiles)
{
	iasl_write_table("rt", dsdt());
	ck_assert_msg(iasl_recompiles_to("rt", dsdt()),
		      "iasl recompiles our disassembled DSDT to different AML");
}
END_TEST

/* The checks above must be able to fail. */
START_TEST(test_iasl_rejects_corrupt)
{
	size_t len = rd32(dsdt() + 4);
	uint8_t *t = malloc(len);

	ck_assert_ptr_nonnull(t);
	/* File shorter than its header says: a truncated DSDT. */
	iasl_write("short.dat", dsdt(), len / 2);
	ck_assert_ptr_nonnull(iasl_disassemble("short"));
	/* Unknown opcode 0x02 where the Scope starts. */
	memcpy(t, dsdt(), len);
	t[36] = 0x02;
	t[9] = 0;
	t[9] = -acpi_checksum(t, len);
	iasl_write_table("badop", t);
	ck_assert_ptr_nonnull(iasl_disassemble("badop"));
	/* Wrong checksum. */
	memcpy(t, dsdt(), len);
	t[9] ^= 1;
	iasl_write_table("badsum", t);
	ck_assert_ptr_nonnull(iasl_disassemble("badsum"));
	/* AML cut short behind a consistent header: only the recompile sees it. */
	memcpy(t, dsdt(), len);
	t[4] = 60;
	t[5] = t[6] = t[7] = 0;
	t[9] = 0;
	t[9] = -acpi_checksum(t, 60);
	iasl_write_table("cut", t);
	ck_assert_ptr_null(iasl_disassemble("cut"));
	ck_assert(!iasl_recompiles_to("cut", t));
	free(t);
}
END_TEST

/* With ECAM: a third XSDT entry, an MCFG iasl accepts, DSDT still last. */
START_TEST(test_iasl_mcfg)
{
	struct acpi_platform p = platform();
	uint8_t *b = calloc(1, BUF_SIZE);
	const uint8_t *x, *m;
	char *dsl;

	ck_assert_ptr_nonnull(b);
	p.ecam_base = 0xE0000000;
	ck_assert_int_gt(acpi_build_tables(&p, b, BUF_SIZE, GPA), 0);
	x = b + rd64(b + 24) - GPA;
	ck_assert_uint_eq(rd32(x + 4), 36 + 3 * 8);
	m = b + rd64(x + 36 + 16) - GPA;
	check_header(m, "MCFG", 60, 1, "EVMMMCFG");
	ck_assert_uint_eq(rd64(m + 44), 0xE0000000);
	ck_assert_uint_eq(rd16(m + 52), 0);
	ck_assert_uint_eq(m[54], 0);
	ck_assert_uint_eq(m[55], 0);
	expect_clean("mcfg", m);
	expect_clean("xsdt3", x);
	dsl = iasl_read("mcfg.dsl", NULL);
	ck_assert_ptr_nonnull(dsl);
	ck_assert_msg(strstr(dsl, "Base Address : 00000000E0000000"),
		      "%s", dsl);
	free(dsl);
	free(b);
}
END_TEST

Suite *acpi_tables_suite(void)
{
	Suite *s = suite_create("acpi_tables");
	TCase *tc = tcase_create("tables"), *iasl = tcase_create("iasl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_checksum_fn);
	tcase_add_test(tc, test_rsdp);
	tcase_add_test(tc, test_xsdt);
	tcase_add_test(tc, test_fadt);
	tcase_add_test(tc, test_madt);
	tcase_add_test(tc, test_dsdt);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_one_and_max_cpus);
	tcase_add_test(tc, test_enospc);
	tcase_add_loop_test(tc, test_einval, 0, 10);
	tcase_add_test(tc, test_null_platform);
	tcase_add_test(tc, test_top_of_4g);
	/* The temp dir lives in the runner, so it goes away even after a failure. */
	tcase_add_unchecked_fixture(iasl, iasl_setup, iasl_teardown);
	tcase_add_checked_fixture(iasl, setup, teardown);
	tcase_add_test(iasl, test_iasl_tables);
	tcase_add_test(iasl, test_iasl_dsdt_content);
	tcase_add_test(iasl, test_iasl_dsdt_recompiles);
	tcase_add_test(iasl, test_iasl_rejects_corrupt);
	tcase_add_test(iasl, test_iasl_mcfg);
	tcase_set_timeout(iasl, 30);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, iasl);
	return s;
}
