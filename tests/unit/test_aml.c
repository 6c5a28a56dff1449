/*
 * AML builder: golden byte strings. Multi-node goldens were cross-checked
 * against iasl 20200925 compiling the equivalent ASL with -on (no name
 * path optimisation).
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"

static struct aml_ctx *ctx;

static void setup(void)
{
	ctx = aml_ctx_new();
}

static void teardown(void)
{
	aml_ctx_free(ctx);
	ctx = NULL;
}

/* Encodes n and compares with want; also checks nothing is written past aml_size(). */
static void expect_bytes(const struct aml *n, const void *want, size_t len,
			 const char *what)
{
	size_t size = aml_size(n);
	uint8_t *buf = malloc(size + 8);
	size_t i;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, size + 8);
	aml_encode(n, buf);
	ck_assert_msg(size == len, "%s: size %zu, want %zu", what, size, len);
	for (i = 0; i < len; i++)
		ck_assert_msg(buf[i] == ((const uint8_t *)want)[i],
			      "%s: byte %zu is 0x%02x, want 0x%02x", what, i,
			      buf[i], ((const uint8_t *)want)[i]);
	for (i = size; i < size + 8; i++)
		ck_assert_msg(buf[i] == 0xa5, "%s: wrote past the end", what);
	free(buf);
}

/* Golden as a string literal (split literals after hex escapes). */
#define EXPECT(n, lit) expect_bytes(n, lit, sizeof(lit) - 1, #n)

/* --- Integers, strings, EISA IDs --------------------------------------------- */

START_TEST(test_int_widths)
{
	EXPECT(aml_int(ctx, 0), "\x00");
	EXPECT(aml_int(ctx, 1), "\x01");
	EXPECT(aml_int(ctx, ~0ULL), "\xff");
	EXPECT(aml_int(ctx, 2), "\x0a\x02");
	EXPECT(aml_int(ctx, 0xff), "\x0a\xff");
	EXPECT(aml_int(ctx, 0x100), "\x0b\x00\x01");
	EXPECT(aml_int(ctx, 0xffff), "\x0b\xff\xff");
	EXPECT(aml_int(ctx, 0x10000), "\x0c\x00\x00\x01\x00");
	EXPECT(aml_int(ctx, 0xffffffff), "\x0c\xff\xff\xff\xff");
	EXPECT(aml_int(ctx, 0x100000000ULL),
	       "\x0e\x00\x00\x00\x00\x01\x00\x00\x00");
	EXPECT(aml_int(ctx, 0xfffffffffffffffeULL),
	       "\x0e\xfe\xff\xff\xff\xff\xff\xff\xff");
	EXPECT(aml_int(ctx, 0x0123456789abcdefULL),
	       "\x0e\xef\xcd\xab\x89\x67\x45\x23\x01");
}
END_TEST

START_TEST(test_dword_forced)
{
	EXPECT(aml_dword(ctx, 0), "\x0c\x00\x00\x00\x00");
	EXPECT(aml_dword(ctx, 0xfec00000), "\x0c\x00\x00\xc0\xfe");
}
END_TEST

START_TEST(test_string)
{
	EXPECT(aml_string(ctx, "ACPI0013"), "\x0d" "ACPI0013" "\x00");
	EXPECT(aml_string(ctx, ""), "\x0d\x00");
}
END_TEST

START_TEST(test_eisaid)
{
	EXPECT(aml_eisaid(ctx, "PNP0501"), "\x0c\x41\xd0\x05\x01");
	EXPECT(aml_eisaid(ctx, "PNP0A06"), "\x0c\x41\xd0\x0a\x06");
	EXPECT(aml_eisaid(ctx, "PNP0C0C"), "\x0c\x41\xd0\x0c\x0c");
	EXPECT(aml_eisaid(ctx, "PNP0C80"), "\x0c\x41\xd0\x0c\x80");
}
END_TEST

/* "ACPI0013" is an 8-character ACPI ID: a _HID string, never an EISA ID. */
static const char *const bad_eisaids[] = {
	"ACPI0013", "PNP050", "pnp0501", "PNP05G1", "P1P0501",
};

START_TEST(test_eisaid_rejects)
{
	aml_eisaid(ctx, bad_eisaids[_i]);
}
END_TEST

/* --- Names ------------------------------------------------------------------- */

START_TEST(test_namestrings)
{
	EXPECT(aml_name(ctx, "FOO"), "FOO_");
	EXPECT(aml_name(ctx, "_S5"), "_S5_");
	EXPECT(aml_name(ctx, "C00A"), "C00A");
	EXPECT(aml_name(ctx, "\\_SB"), "\\_SB_");
	EXPECT(aml_name(ctx, "\\"), "\\\x00");
	EXPECT(aml_name(ctx, "^PRES"), "^PRES");
	EXPECT(aml_name(ctx, "^^AB"), "^^AB__");
	EXPECT(aml_name(ctx, "_SB.CPUS"), "\x2e" "_SB_CPUS");
	EXPECT(aml_name(ctx, "\\_SB.GED"), "\\\x2e" "_SB_GED_");
	EXPECT(aml_name(ctx, "^CPUS.CSCN"), "^\x2e" "CPUSCSCN");
	EXPECT(aml_name(ctx, "\\_SB.PCI0.PRES"),
	       "\\\x2f\x03" "_SB_PCI0PRES");
	EXPECT(aml_name(ctx, "A.B.C.D"), "\x2f\x04" "A___B___C___D___");
}
END_TEST

static const char *const bad_names[] = {
	"", "foo", "TOOLONG", "A..B", "A.", ".A", "1ABC", "\\\\A", "A^B",
	"AB-C", "\\^A",
};

START_TEST(test_namestring_rejects)
{
	aml_name(ctx, bad_names[_i]);
}
END_TEST

START_TEST(test_name_decl)
{
	EXPECT(aml_name_decl(ctx, "_UID", aml_int(ctx, 0)), "\x08" "_UID" "\x00");
	EXPECT(aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0501")),
	       "\x08" "_HID" "\x0c\x41\xd0\x05\x01");
	EXPECT(aml_name_decl(ctx, "_HID", aml_string(ctx, "ACPI0013")),
	       "\x08" "_HID" "\x0d" "ACPI0013" "\x00");
}
END_TEST

START_TEST(test_scope_device)
{
	struct aml *sb = aml_scope(ctx, "\\_SB");
	struct aml *dev = aml_device(ctx, "COM1");

	EXPECT(dev, "\x5b\x82\x05" "COM1");
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_int(ctx, 0)));
	aml_append(sb, dev);
	EXPECT(sb, "\x10\x13\\_SB_"
		   "\x5b\x82\x0b" "COM1" "\x08" "_UID" "\x00");
}
END_TEST

START_TEST(test_list)
{
	struct aml *l = aml_list(ctx);

	EXPECT(l, "");
	aml_append(l, aml_name_decl(ctx, "A", aml_int(ctx, 1)));
	aml_append(l, aml_name_decl(ctx, "B", aml_int(ctx, 2)));
	EXPECT(l, "\x08" "A___" "\x01" "\x08" "B___" "\x0a\x02");
}
END_TEST

/* --- PkgLength ------------------------------------------------------------- */

/* A Buffer of n bytes: BufferOp PkgLength BufferSize data. */
static struct aml *buffer_of(size_t n)
{
	uint8_t *data = calloc(1, n);
	struct aml *b;

	ck_assert_ptr_nonnull(data);
	b = aml_buffer(ctx, data, n);
	free(data);
	return b;
}

/* Encodes n and returns its first len bytes in head (which is checked). */
static void expect_head(const struct aml *n, size_t total, const void *head,
			size_t len)
{
	uint8_t *buf;

	ck_assert_uint_eq(aml_size(n), total);
	buf = malloc(total);
	ck_assert_ptr_nonnull(buf);
	aml_encode(n, buf);
	ck_assert_mem_eq(buf, head, len);
	free(buf);
}

#define EXPECT_HEAD(n, total, lit) expect_head(n, total, lit, sizeof(lit) - 1)

START_TEST(test_pkglen_boundaries)
{
	/* Body 62 bytes: PkgLength 63, the largest one-byte encoding. */
	EXPECT_HEAD(buffer_of(60), 64, "\x11\x3f\x0a\x3c");
	/* Body 63: a one-byte PkgLength would say 64, so two bytes (65). */
	EXPECT_HEAD(buffer_of(61), 66, "\x11\x41\x04\x0a\x3d");
	/* Body 4093: PkgLength 4095 (0xfff), the largest two-byte encoding. */
	EXPECT_HEAD(buffer_of(4090), 4096, "\x11\x4f\xff\x0b\xfa\x0f");
	/* Body 4094: three bytes, 4097. */
	EXPECT_HEAD(buffer_of(4091), 4098, "\x11\x81\x00\x01\x0b\xfb\x0f");
	/* Body 0xffffc: PkgLength 0xfffff, the largest three-byte encoding. */
	EXPECT_HEAD(buffer_of(0xffff7), 0x100000,
		    "\x11\x8f\xff\xff\x0c\xf7\xff\x0f\x00");
	/* One more: four bytes, 0x100001. */
	EXPECT_HEAD(buffer_of(0xffff8), 0x100002,
		    "\x11\xc1\x00\x00\x01\x0c\xf8\xff\x0f\x00");
}
END_TEST

START_TEST(test_buffer)
{
	static const uint8_t data[] = { 1, 2, 3 };

	EXPECT(aml_buffer(ctx, data, 3), "\x11\x06\x0a\x03\x01\x02\x03");
	EXPECT(aml_buffer(ctx, NULL, 0), "\x11\x02\x00");
}
END_TEST

/* --- Packages ---------------------------------------------------------------- */

START_TEST(test_package)
{
	struct aml *p = aml_package(ctx);

	EXPECT(p, "\x12\x02\x00");
	aml_append(p, aml_int(ctx, 5));
	aml_append(p, aml_int(ctx, 0));
	aml_append(p, aml_int(ctx, 0));
	aml_append(p, aml_int(ctx, 0));
	EXPECT(p, "\x12\x07\x04\x0a\x05\x00\x00\x00");
}
END_TEST

START_TEST(test_package_of_dwords)
{
	struct aml *p = aml_package(ctx);

	aml_append(p, aml_dword(ctx, 1));
	aml_append(p, aml_dword(ctx, 0xfee00000));
	EXPECT(p, "\x12\x0c\x02\x0c\x01\x00\x00\x00\x0c\x00\x00\xe0\xfe");
}
END_TEST

/* More than 255 elements do not fit NumElements: VarPackage with a count. */
START_TEST(test_package_large)
{
	struct aml *p = aml_package(ctx);
	int i;

	for (i = 0; i < 256; i++)
		aml_append(p, aml_int(ctx, 0));
	EXPECT_HEAD(p, 1 + 2 + 3 + 256, "\x13\x45\x10\x0b\x00\x01\x00");
}
END_TEST

START_TEST(test_varpackage)
{
	struct aml *p = aml_varpackage(ctx, aml_arg(ctx, 0));

	aml_append(p, aml_int(ctx, 1));
	EXPECT(p, "\x13\x03\x68\x01");
}
END_TEST

/* --- Methods and control flow ---------------------------------------------- */

START_TEST(test_method_flags)
{
	struct aml *m = aml_method(ctx, "_STA", 0, 0);

	aml_append(m, aml_return(ctx, aml_int(ctx, 0x0f)));
	EXPECT(m, "\x14\x09" "_STA" "\x00\xa4\x0a\x0f");
	EXPECT(aml_method(ctx, "_EVT", 1, 1), "\x14\x06" "_EVT" "\x09");
	EXPECT(aml_method(ctx, "COST", 4, 1), "\x14\x06" "COST" "\x0c");
	EXPECT(aml_method(ctx, "MAX7", 7, 0), "\x14\x06" "MAX7" "\x07");
}
END_TEST

START_TEST(test_method_too_many_args)
{
	aml_method(ctx, "BAD_", 8, 0);
}
END_TEST

/*
 * Method (TEST, 1) { Local0 = 0
 *   While (Local0 < Arg0) { If (Local0 == 2) { Break } Else { Local0++ } } }
 */
START_TEST(test_if_else_while)
{
	struct aml *m = aml_method(ctx, "TEST", 1, 0);
	struct aml *loop, *iff, *els;

	aml_append(m, aml_store(ctx, aml_int(ctx, 0), aml_local(ctx, 0)));
	loop = aml_while(ctx, aml_lless(ctx, aml_local(ctx, 0), aml_arg(ctx, 0)));
	iff = aml_if(ctx, aml_lequal(ctx, aml_local(ctx, 0), aml_int(ctx, 2)));
	aml_append(iff, aml_break(ctx));
	els = aml_else(ctx);
	aml_append(els, aml_increment(ctx, aml_local(ctx, 0)));
	aml_append(loop, iff);
	aml_append(loop, els);
	aml_append(m, loop);
	EXPECT(m, "\x14\x19" "TEST" "\x01\x70\x00\x60"
		  "\xa2\x0f\x95\x60\x68"
		  "\xa0\x06\x93\x60\x0a\x02\xa5"
		  "\xa1\x03\x75\x60");
}
END_TEST

START_TEST(test_args_locals)
{
	EXPECT(aml_arg(ctx, 0), "\x68");
	EXPECT(aml_arg(ctx, 6), "\x6e");
	EXPECT(aml_local(ctx, 0), "\x60");
	EXPECT(aml_local(ctx, 7), "\x67");
}
END_TEST

START_TEST(test_arg7_rejected)
{
	aml_arg(ctx, 7);
}
END_TEST

START_TEST(test_local8_rejected)
{
	aml_local(ctx, 8);
}
END_TEST

START_TEST(test_return_break)
{
	EXPECT(aml_return(ctx, aml_local(ctx, 0)), "\xa4\x60");
	EXPECT(aml_return(ctx, NULL), "\xa4\x00");
	EXPECT(aml_break(ctx), "\xa5");
}
END_TEST

START_TEST(test_call)
{
	EXPECT(aml_call(ctx, "CSTA", 1, aml_int(ctx, 0)), "CSTA\x00");
	EXPECT(aml_call(ctx, "\\_SB.CPUS.CSCN", 0),
	       "\\\x2f\x03" "_SB_CPUSCSCN");
	EXPECT(aml_call(ctx, "COST", 4, aml_int(ctx, 0), aml_arg(ctx, 0),
			aml_arg(ctx, 1), aml_arg(ctx, 2)),
	       "COST\x00\x68\x69\x6a");
}
END_TEST

/* --- Expressions ------------------------------------------------------------- */

START_TEST(test_arithmetic)
{
	struct aml *l0 = aml_local(ctx, 0);

	EXPECT(aml_store(ctx, aml_arg(ctx, 0), aml_name(ctx, "CSEL")),
	       "\x70\x68" "CSEL");
	EXPECT(aml_add(ctx, aml_local(ctx, 0), aml_int(ctx, 1), aml_local(ctx, 1)),
	       "\x72\x60\x01\x61");
	EXPECT(aml_subtract(ctx, aml_name(ctx, "MAXL"), aml_int(ctx, 1),
			    aml_name(ctx, "MAXL")),
	       "\x74" "MAXL" "\x01" "MAXL");
	EXPECT(aml_and(ctx, l0, aml_int(ctx, 8), NULL), "\x7b\x60\x0a\x08\x00");
	EXPECT(aml_or(ctx, aml_local(ctx, 1), aml_int(ctx, 2), aml_local(ctx, 1)),
	       "\x7d\x61\x0a\x02\x61");
	EXPECT(aml_shiftleft(ctx, aml_int(ctx, 1), aml_arg(ctx, 0)),
	       "\x79\x01\x68\x00");
	EXPECT(aml_shiftright(ctx, aml_arg(ctx, 0), aml_int(ctx, 4)),
	       "\x7a\x68\x0a\x04\x00");
	EXPECT(aml_increment(ctx, aml_local(ctx, 2)), "\x75\x62");
	EXPECT(aml_decrement(ctx, aml_local(ctx, 2)), "\x76\x62");
}
END_TEST

START_TEST(test_logic)
{
	EXPECT(aml_lequal(ctx, aml_name(ctx, "CPEN"), aml_int(ctx, 1)),
	       "\x93" "CPEN" "\x01");
	EXPECT(aml_lless(ctx, aml_local(ctx, 0), aml_int(ctx, 8)),
	       "\x95\x60\x0a\x08");
	EXPECT(aml_lgreater(ctx, aml_local(ctx, 0), aml_int(ctx, 0)),
	       "\x94\x60\x00");
	EXPECT(aml_lnot(ctx, aml_lequal(ctx, aml_arg(ctx, 0), aml_int(ctx, 0))),
	       "\x92\x93\x68\x00");
	EXPECT(aml_land(ctx, aml_arg(ctx, 0), aml_arg(ctx, 1)), "\x90\x68\x69");
	EXPECT(aml_lor(ctx, aml_arg(ctx, 0), aml_arg(ctx, 1)), "\x91\x68\x69");
}
END_TEST

START_TEST(test_objects_ops)
{
	EXPECT(aml_concatenate(ctx, aml_string(ctx, "A"), aml_arg(ctx, 0),
			       aml_local(ctx, 0)),
	       "\x73\x0d" "A" "\x00\x68\x60");
	EXPECT(aml_to_integer(ctx, aml_arg(ctx, 0), NULL), "\x99\x68\x00");
	EXPECT(aml_to_integer(ctx, aml_arg(ctx, 0), aml_local(ctx, 1)),
	       "\x99\x68\x61");
	EXPECT(aml_deref(ctx, aml_index(ctx, aml_name(ctx, "CNEW"),
					aml_local(ctx, 0))),
	       "\x83\x88" "CNEW" "\x60\x00");
	EXPECT(aml_create_dword_field(ctx, aml_name(ctx, "MR64"),
				      aml_int(ctx, 14), "MINL"),
	       "\x8a" "MR64" "\x0a\x0e" "MINL");
	EXPECT(aml_create_qword_field(ctx, aml_name(ctx, "MR64"),
				      aml_int(ctx, 38), "LENL"),
	       "\x8f" "MR64" "\x0a\x26" "LENL");
}
END_TEST

START_TEST(test_sync_and_notify)
{
	EXPECT(aml_mutex(ctx, "CPLK", 0), "\x5b\x01" "CPLK" "\x00");
	EXPECT(aml_acquire(ctx, aml_name(ctx, "CPLK"), 0xffff),
	       "\x5b\x23" "CPLK" "\xff\xff");
	EXPECT(aml_acquire(ctx, aml_name(ctx, "\\_SB.PRES.CPLK"), 0x0102),
	       "\x5b\x23\\\x2f\x03" "_SB_PRESCPLK" "\x02\x01");
	EXPECT(aml_release(ctx, aml_name(ctx, "CPLK")), "\x5b\x27" "CPLK");
	EXPECT(aml_sleep(ctx, 10), "\x5b\x22\x0a\x0a");
	EXPECT(aml_notify(ctx, aml_name(ctx, "C000"), aml_arg(ctx, 1)),
	       "\x86" "C000" "\x69");
	EXPECT(aml_notify(ctx, aml_name(ctx, "\\_SB.PWRB"), aml_int(ctx, 0x80)),
	       "\x86\\\x2e" "_SB_PWRB" "\x0a\x80");
}
END_TEST

/* --- Regions and fields -------------------------------------------------------- */

START_TEST(test_operation_region)
{
	EXPECT(aml_operation_region(ctx, "PRST", AML_SYSTEM_MEMORY, 0xfeb00000, 12),
	       "\x5b\x80" "PRST" "\x00\x0c\x00\x00\xb0\xfe\x0a\x0c");
	EXPECT(aml_operation_region(ctx, "PMIO", AML_SYSTEM_IO, 0x600, 3),
	       "\x5b\x80" "PMIO" "\x01\x0b\x00\x06\x0a\x03");
}
END_TEST

/* Field (PRST, ByteAcc, NoLock, WriteAsZeros) { Offset (4), CPEN, 1, CINS, 1,
 * CRMV, 1, CEJ0, 1, , 4, CCMD, 8 } */
START_TEST(test_field_offsets)
{
	struct aml *f = aml_field(ctx, "PRST", AML_BYTE_ACC, AML_WRITE_AS_ZEROS);

	aml_append(f, aml_field_offset(ctx, 4));
	aml_append(f, aml_named_field(ctx, "CPEN", 1));
	aml_append(f, aml_named_field(ctx, "CINS", 1));
	aml_append(f, aml_named_field(ctx, "CRMV", 1));
	aml_append(f, aml_named_field(ctx, "CEJ0", 1));
	aml_append(f, aml_reserved_field(ctx, 4));
	aml_append(f, aml_named_field(ctx, "CCMD", 8));
	/* Offset at the current position adds nothing. */
	aml_append(f, aml_field_offset(ctx, 6));
	EXPECT(f, "\x5b\x81\x23" "PRST" "\x41" "\x00\x20"
		  "CPEN\x01" "CINS\x01" "CRMV\x01" "CEJ0\x01"
		  "\x00\x04" "CCMD\x08");
}
END_TEST

/* Field (PRST, DWordAcc, NoLock, Preserve) { CSEL, 32, , 32, CDAT, 32 } */
START_TEST(test_field_reserved_gap)
{
	struct aml *f = aml_field(ctx, "PRST", AML_DWORD_ACC, AML_PRESERVE);

	aml_append(f, aml_named_field(ctx, "CSEL", 32));
	aml_append(f, aml_reserved_field(ctx, 32));
	aml_append(f, aml_named_field(ctx, "CDAT", 32));
	EXPECT(f, "\x5b\x81\x12" "PRST" "\x03" "CSEL\x20" "\x00\x20" "CDAT\x20");
}
END_TEST

/* A field unit's PkgLength is its width in bits, without counting itself. */
START_TEST(test_field_unit_widths)
{
	struct aml *f = aml_field(ctx, "\\_SB.MHPC.HPMR", AML_ANY_ACC,
				  AML_PRESERVE);

	aml_append(f, aml_named_field(ctx, "MES", 63));
	aml_append(f, aml_named_field(ctx, "A", 64));
	aml_append(f, aml_reserved_field(ctx, 4095));
	aml_append(f, aml_named_field(ctx, "B", 4096));
	aml_append(f, aml_field_offset(ctx, 0x20000));
	EXPECT(f, "\x5b\x81\x2a\\\x2f\x03" "_SB_MHPCHPMR" "\x00"
		  "MES_\x3f" "A___\x40\x04" "\x00\x4f\xff" "B___\x80\x00\x01"
		  /* 0x100000 - 63 - 64 - 4095 - 4096 = 0xfdf82 bits */
		  "\x00\x82\xf8\xfd");
}
END_TEST

START_TEST(test_field_offset_backwards)
{
	struct aml *f = aml_field(ctx, "PRST", AML_BYTE_ACC, AML_PRESERVE);

	aml_append(f, aml_named_field(ctx, "CSEL", 32));
	aml_append(f, aml_field_offset(ctx, 2));
}
END_TEST

START_TEST(test_unit_outside_field)
{
	aml_append(aml_list(ctx), aml_named_field(ctx, "CSEL", 32));
}
END_TEST

START_TEST(test_append_twice)
{
	struct aml *n = aml_int(ctx, 1);

	aml_append(aml_list(ctx), n);
	aml_append(aml_list(ctx), n);
}
END_TEST

/* --- Resource templates ------------------------------------------------------ */

START_TEST(test_resource_io_irq)
{
	struct aml *rt = aml_resource_template(ctx);

	EXPECT(rt, "\x11\x05\x0a\x02\x79\x00");
	aml_append(rt, aml_io(ctx, 0x3f8, 0x3f8, 0, 8));
	aml_append(rt, aml_irq_noflags(ctx, 4));
	EXPECT(rt, "\x11\x10\x0a\x0d"
		   "\x47\x01\xf8\x03\xf8\x03\x00\x08"
		   "\x22\x10\x00"
		   "\x79\x00");
}
END_TEST

START_TEST(test_irq_16_rejected)
{
	aml_irq_noflags(ctx, 16);
}
END_TEST

START_TEST(test_resource_interrupt)
{
	struct aml *rt = aml_resource_template(ctx);

	aml_append(rt, aml_interrupt(ctx, 5, 0, 0));
	EXPECT(rt, "\x11\x0e\x0a\x0b"
		   "\x89\x06\x00\x03\x01\x05\x00\x00\x00"
		   "\x79\x00");
	EXPECT(aml_interrupt(ctx, 0x123, 1, 1),
	       "\x89\x06\x00\x05\x01\x23\x01\x00\x00");
}
END_TEST

/* QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
 * ReadWrite, 0, 0x100000000, 0x17FFFFFFF, 0, 0x80000000) + Memory32Fixed */
START_TEST(test_resource_memory)
{
	struct aml *rt = aml_resource_template(ctx);

	aml_append(rt, aml_qword_memory(ctx, 0x100000000ULL, 0x80000000ULL));
	aml_append(rt, aml_memory32_fixed(ctx, 0xfeb00000, 12, 1));
	EXPECT(rt, "\x11\x3f\x0a\x3c"
		   "\x8a\x2b\x00\x00\x0c\x03"
		   "\x00\x00\x00\x00\x00\x00\x00\x00"	/* granularity */
		   "\x00\x00\x00\x00\x01\x00\x00\x00"	/* min */
		   "\xff\xff\xff\x7f\x01\x00\x00\x00"	/* max */
		   "\x00\x00\x00\x00\x00\x00\x00\x00"	/* translation */
		   "\x00\x00\x00\x80\x00\x00\x00\x00"	/* length */
		   "\x86\x09\x00\x01\x00\x00\xb0\xfe\x0c\x00\x00\x00"
		   "\x79\x00");
	EXPECT(aml_memory32_fixed(ctx, 0xfec00000, 0x1000, 0),
	       "\x86\x09\x00\x00\x00\x00\xc0\xfe\x00\x10\x00\x00");
}
END_TEST

/* A PCI host bridge's: WordBusNumber (ResourceProducer, MinFixed, MaxFixed,
 * PosDecode, 0, 0, 0, 0, 1), DWordMemory (ResourceProducer, PosDecode,
 * MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, 0xC0000000, 0xDFFFFFFF,
 * 0, 0x20000000) */
START_TEST(test_resource_pci_windows)
{
	EXPECT(aml_word_bus_number(ctx, 0, 0),
	       "\x88\x0d\x00\x02\x0c\x00"
	       "\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00");
	EXPECT(aml_word_bus_number(ctx, 2, 5),
	       "\x88\x0d\x00\x02\x0c\x00"
	       "\x00\x00\x02\x00\x05\x00\x00\x00\x04\x00");
	EXPECT(aml_dword_memory(ctx, 0xc0000000, 0x20000000),
	       "\x87\x17\x00\x00\x0c\x01"
	       "\x00\x00\x00\x00"		/* granularity */
	       "\x00\x00\x00\xc0"		/* min */
	       "\xff\xff\xff\xdf"		/* max */
	       "\x00\x00\x00\x00"		/* translation */
	       "\x00\x00\x00\x20");		/* length */
}
END_TEST

/* The _S5_ object the tables append: Name (\_S5_, Package (4) {5, 0, 0, 0}) */
START_TEST(test_s5)
{
	struct aml *p = aml_package(ctx);
	int i;

	aml_append(p, aml_int(ctx, 5));
	for (i = 0; i < 3; i++)
		aml_append(p, aml_int(ctx, 0));
	EXPECT(aml_name_decl(ctx, "\\_S5_", p),
	       "\x08\\_S5_\x12\x07\x04\x0a\x05\x00\x00\x00");
}
END_TEST

static TCase *aml_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	return tc;
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *aml_suite(void)
{
	Suite *s = suite_create("aml");
	TCase *data = aml_tcase("data"), *names = aml_tcase("names");
	TCase *code = aml_tcase("code"), *fields = aml_tcase("fields");
	TCase *res = aml_tcase("resources"), *misuse = aml_tcase("misuse");

	tcase_add_test(data, test_int_widths);
	tcase_add_test(data, test_dword_forced);
	tcase_add_test(data, test_string);
	tcase_add_test(data, test_eisaid);
	tcase_add_test(data, test_buffer);
	tcase_add_test(data, test_pkglen_boundaries);
	tcase_add_test(data, test_package);
	tcase_add_test(data, test_package_of_dwords);
	tcase_add_test(data, test_package_large);
	tcase_add_test(data, test_varpackage);
	tcase_add_test(data, test_s5);
	tcase_add_test(names, test_namestrings);
	tcase_add_test(names, test_name_decl);
	tcase_add_test(names, test_scope_device);
	tcase_add_test(names, test_list);
	tcase_add_test(code, test_method_flags);
	tcase_add_test(code, test_if_else_while);
	tcase_add_test(code, test_args_locals);
	tcase_add_test(code, test_return_break);
	tcase_add_test(code, test_call);
	tcase_add_test(code, test_arithmetic);
	tcase_add_test(code, test_logic);
	tcase_add_test(code, test_objects_ops);
	tcase_add_test(code, test_sync_and_notify);
	tcase_add_test(fields, test_operation_region);
	tcase_add_test(fields, test_field_offsets);
	tcase_add_test(fields, test_field_reserved_gap);
	tcase_add_test(fields, test_field_unit_widths);
	tcase_add_test(res, test_resource_io_irq);
	tcase_add_test(res, test_resource_interrupt);
	tcase_add_test(res, test_resource_memory);
	tcase_add_test(res, test_resource_pci_windows);
	/* Misuse is a bug in evmm: the builder aborts. */
	tcase_add_loop_test_raise_signal(misuse, test_eisaid_rejects, SIGABRT,
					 0, N(bad_eisaids));
	tcase_add_loop_test_raise_signal(misuse, test_namestring_rejects, SIGABRT,
					 0, N(bad_names));
	tcase_add_test_raise_signal(misuse, test_method_too_many_args, SIGABRT);
	tcase_add_test_raise_signal(misuse, test_arg7_rejected, SIGABRT);
	tcase_add_test_raise_signal(misuse, test_local8_rejected, SIGABRT);
	tcase_add_test_raise_signal(misuse, test_field_offset_backwards, SIGABRT);
	tcase_add_test_raise_signal(misuse, test_unit_outside_field, SIGABRT);
	tcase_add_test_raise_signal(misuse, test_append_twice, SIGABRT);
	tcase_add_test_raise_signal(misuse, test_irq_16_rejected, SIGABRT);
	suite_add_tcase(s, data);
	suite_add_tcase(s, names);
	suite_add_tcase(s, code);
	suite_add_tcase(s, fields);
	suite_add_tcase(s, res);
	suite_add_tcase(s, misuse);
	return s;
}
