/*
 * The memory hotplug controller on its own: registers as the guest sees
 * them, the slot life cycle, hostile writes (random ones too), _OST, reset,
 * and the \_SB.MHPC AML through iasl -d and back.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/mem_hotplug.h"
#include "tests/unit/iasl.h"

#define NSLOTS	4
#define GiB	(1ULL << 30)
#define MHP_PORT 0x0A00

static struct mem_hotplug *hp;
static int ejects;
static unsigned int ejected_slot;

/* Runs unlocked: a status call here would deadlock otherwise. */
static void record_eject(void *opaque, unsigned int slot)
{
	struct mem_hp_status st;

	ck_assert_ptr_eq(opaque, &ejects);
	mem_hotplug_status(hp, slot, &st);
	ck_assert(!st.enabled && st.ejected);
	ejects++;
	ejected_slot = slot;
}

static void setup(void)
{
	hp = mem_hotplug_new(NSLOTS, record_eject, &ejects);
	ck_assert_ptr_nonnull(hp);
	ejects = 0;
	ejected_slot = ~0u;
}

static void teardown(void)
{
	mem_hotplug_free(hp);
	hp = NULL;
}

static void wr(uint64_t offset, uint32_t value, uint32_t len)
{
	uint8_t d[4];

	for (uint32_t i = 0; i < 4; i++)
		d[i] = value >> (8 * i);
	mem_hotplug_io(hp, offset, d, len, true);
}

static uint32_t rd(uint64_t offset, uint32_t len)
{
	uint8_t d[4];
	uint32_t v = 0;

	memset(d, 0xaa, sizeof(d));
	mem_hotplug_io(hp, offset, d, len, false);
	while (len--)
		v = v << 8 | d[len];
	return v;
}

static void sel(uint32_t slot)
{
	wr(MEM_HP_BASE_LO, slot, 4);
}

static uint8_t flags_of(uint32_t slot)
{
	sel(slot);
	return rd(MEM_HP_FLAGS, 1);
}

static void guest_flags(uint32_t slot, uint8_t v)
{
	sel(slot);
	wr(MEM_HP_FLAGS, v, 1);
}

static struct mem_hp_status status(unsigned int slot)
{
	struct mem_hp_status st;

	mem_hotplug_status(hp, slot, &st);
	return st;
}

/* Field by field: memcmp would compare the padding. */
static bool same(const struct mem_hp_status *a, const struct mem_hp_status *b)
{
	return a->base == b->base && a->size == b->size &&
	       a->enabled == b->enabled && a->inserting == b->inserting &&
	       a->remove_requested == b->remove_requested &&
	       a->removing == b->removing && a->ejected == b->ejected &&
	       a->ost_event == b->ost_event && a->ost_status == b->ost_status &&
	       a->ost_valid == b->ost_valid;
}

START_TEST(mhp_new_rejects)
{
	ck_assert_ptr_null(mem_hotplug_new(0, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(mem_hotplug_new(MEM_HP_MAX_SLOTS + 1, NULL, NULL));
	teardown();
	hp = mem_hotplug_new(MEM_HP_MAX_SLOTS, NULL, NULL);
	ck_assert_ptr_nonnull(hp);
	mem_hotplug_free(NULL);
}
END_TEST

START_TEST(mhp_initial_state)
{
	for (unsigned int i = 0; i < NSLOTS; i++) {
		ck_assert_uint_eq(flags_of(i), 0);
		ck_assert_uint_eq(rd(MEM_HP_SIZE_LO, 4), 0);
		ck_assert(!status(i).enabled);
	}
}
END_TEST

/* Base, size and flags of the selected slot, at any width. */
START_TEST(mhp_registers)
{
	ck_assert_int_eq(mem_hotplug_plug(hp, 2, 0x123456789ULL << 12,
					  3 * GiB), 0);
	sel(2);
	ck_assert_uint_eq(rd(MEM_HP_BASE_LO, 4), 0x56789000);
	ck_assert_uint_eq(rd(MEM_HP_BASE_HI, 4), 0x1234);
	ck_assert_uint_eq(rd(MEM_HP_SIZE_LO, 4), 0xC0000000);
	ck_assert_uint_eq(rd(MEM_HP_SIZE_HI, 4), 0);
	ck_assert_uint_eq(rd(MEM_HP_PXM, 4), 0);
	ck_assert_uint_eq(rd(MEM_HP_FLAGS, 1),
			  MEM_HP_F_ENABLED | MEM_HP_F_INSERT);
	ck_assert_uint_eq(rd(MEM_HP_BASE_LO + 1, 2), 0x7890);
	ck_assert_uint_eq(rd(MEM_HP_BASE_HI, 1), 0x34);
	/* Reads across the end stop at it; beyond it they read 0. */
	ck_assert_uint_eq(rd(MEM_HP_FLAGS, 4), MEM_HP_F_ENABLED |
			  MEM_HP_F_INSERT);
	ck_assert_uint_eq(rd(MEM_HP_IO_SIZE - 1, 4), 0);
	ck_assert_uint_eq(rd(MEM_HP_IO_SIZE, 4), 0);
	ck_assert_uint_eq(rd(~0ULL, 4), 0);
	/* Another slot: its own registers. */
	sel(1);
	ck_assert_uint_eq(rd(MEM_HP_BASE_HI, 4), 0);
	ck_assert_uint_eq(rd(MEM_HP_FLAGS, 1), 0);
	/* Reads change nothing. */
	sel(2);
	ck_assert_uint_eq(rd(MEM_HP_FLAGS, 1),
			  MEM_HP_F_ENABLED | MEM_HP_F_INSERT);
}
END_TEST

START_TEST(mhp_plug_to_eject)
{
	struct mem_hp_status st;

	ck_assert_int_eq(mem_hotplug_plug(hp, 1, 4 * GiB, GiB), 0);
	/* The scan: the insert is acknowledged, _OST says added. */
	guest_flags(1, MEM_HP_F_INSERT);
	ck_assert_uint_eq(flags_of(1), MEM_HP_F_ENABLED);
	wr(MEM_HP_BASE_HI, 1, 4);
	wr(MEM_HP_SIZE_LO, 0, 4);
	st = status(1);
	ck_assert(st.ost_valid && st.ost_event == 1 && st.ost_status == 0);

	ck_assert_int_eq(mem_hotplug_request_remove(hp, 1), 0);
	ck_assert_int_eq(mem_hotplug_request_remove(hp, 1), -EINVAL);
	st = status(1);
	ck_assert(st.remove_requested && st.removing && !st.ost_valid);
	ck_assert_uint_eq(flags_of(1), MEM_HP_F_ENABLED | MEM_HP_F_REMOVE);
	guest_flags(1, MEM_HP_F_REMOVE);
	ck_assert_uint_eq(flags_of(1), MEM_HP_F_ENABLED);
	ck_assert(status(1).remove_requested);

	guest_flags(1, MEM_HP_F_EJECT);
	ck_assert_int_eq(ejects, 1);
	ck_assert_uint_eq(ejected_slot, 1);
	ck_assert_uint_eq(flags_of(1), 0);
	st = status(1);
	ck_assert(!st.enabled && st.ejected);
	ck_assert_uint_eq(st.base, 4 * GiB);
	/* Not plugged again before the VMM took the eject. */
	ck_assert_int_eq(mem_hotplug_plug(hp, 1, 4 * GiB, GiB), -EINVAL);
	ck_assert(mem_hotplug_take_ejected(hp, 1));
	ck_assert(!mem_hotplug_take_ejected(hp, 1));
	ck_assert_uint_eq(status(1).size, 0);
	ck_assert_int_eq(mem_hotplug_plug(hp, 1, 5 * GiB, 128 << 20), 0);
	ck_assert_uint_eq(status(1).base, 5 * GiB);
}
END_TEST

START_TEST(mhp_vmm_errors)
{
	ck_assert_int_eq(mem_hotplug_plug(hp, NSLOTS, 4 * GiB, GiB), -EINVAL);
	ck_assert_int_eq(mem_hotplug_plug(hp, ~0u, 4 * GiB, GiB), -EINVAL);
	ck_assert_int_eq(mem_hotplug_plug(hp, 0, 4 * GiB, 0), -EINVAL);
	ck_assert_int_eq(mem_hotplug_plug(hp, 0, ~0ULL - 10, GiB), -EINVAL);
	ck_assert_int_eq(mem_hotplug_request_remove(hp, 0), -EINVAL);
	ck_assert_int_eq(mem_hotplug_request_remove(hp, NSLOTS), -EINVAL);
	ck_assert_int_eq(mem_hotplug_plug(hp, 0, 4 * GiB, GiB), 0);
	ck_assert_int_eq(mem_hotplug_plug(hp, 0, 4 * GiB, GiB), -EINVAL);
	ck_assert(!mem_hotplug_take_ejected(hp, NSLOTS));
	ck_assert(!status(NSLOTS).enabled);
}
END_TEST

/* Ejects the VMM did not ask for, and writes with no slot selected. */
START_TEST(mhp_hostile_writes)
{
	struct mem_hp_status before[NSLOTS], after;

	mem_hotplug_plug(hp, 0, 4 * GiB, GiB);
	mem_hotplug_plug(hp, 1, 5 * GiB, GiB);
	guest_flags(1, MEM_HP_F_INSERT);
	for (unsigned int i = 0; i < NSLOTS; i++)
		before[i] = status(i);
	guest_flags(0, MEM_HP_F_EJECT);		/* inserting, not removing */
	guest_flags(1, MEM_HP_F_EJECT);		/* enabled, not removing */
	guest_flags(2, MEM_HP_F_EJECT);		/* absent */
	guest_flags(1, 0xF0);
	guest_flags(1, MEM_HP_F_ENABLED);
	sel(NSLOTS);
	wr(MEM_HP_FLAGS, 0xFF, 1);
	wr(MEM_HP_BASE_HI, 7, 4);
	wr(MEM_HP_SIZE_LO, 7, 4);
	sel(~0u);
	wr(MEM_HP_FLAGS, MEM_HP_F_EJECT, 4);
	/* Odd widths and offsets, and writes of the read-only registers. */
	sel(1);
	wr(MEM_HP_FLAGS, MEM_HP_F_EJECT, 0);
	mem_hotplug_io(hp, MEM_HP_FLAGS, (uint8_t[8]){ MEM_HP_F_EJECT }, 8,
		       true);
	wr(MEM_HP_SIZE_HI, ~0u, 4);
	wr(MEM_HP_PXM, ~0u, 4);
	wr(MEM_HP_IO_SIZE, ~0u, 4);
	wr(~0ULL, ~0u, 4);
	ck_assert_int_eq(ejects, 0);
	for (unsigned int i = 0; i < NSLOTS; i++) {
		after = status(i);
		ck_assert_msg(same(&before[i], &after), "slot %u changed", i);
	}
	/* Only 1..4-byte writes count, even for a removal that was asked. */
	mem_hotplug_request_remove(hp, 1);
	sel(1);
	wr(MEM_HP_FLAGS, MEM_HP_F_EJECT, 0);
	mem_hotplug_io(hp, MEM_HP_FLAGS, (uint8_t[8]){ MEM_HP_F_EJECT }, 8,
		       true);
	ck_assert_int_eq(ejects, 0);
	ck_assert(status(1).enabled);
	/* A removal asked for slot 1 still does not let slot 0 go. */
	guest_flags(0, MEM_HP_F_EJECT);
	ck_assert_int_eq(ejects, 0);
	ck_assert(status(0).enabled);
	ck_assert(status(1).remove_requested);
}
END_TEST

/* One action per write, in QEMU's order: insert, else remove, else eject. */
START_TEST(mhp_one_action_per_write)
{
	mem_hotplug_plug(hp, 0, 4 * GiB, GiB);
	mem_hotplug_request_remove(hp, 0);
	guest_flags(0, MEM_HP_F_INSERT | MEM_HP_F_REMOVE | MEM_HP_F_EJECT);
	ck_assert_uint_eq(flags_of(0), MEM_HP_F_ENABLED | MEM_HP_F_REMOVE);
	guest_flags(0, MEM_HP_F_REMOVE | MEM_HP_F_EJECT);
	ck_assert_uint_eq(flags_of(0), MEM_HP_F_ENABLED);
	ck_assert_int_eq(ejects, 0);
	guest_flags(0, MEM_HP_F_EJECT);
	ck_assert_int_eq(ejects, 1);
}
END_TEST

/* The selector is any 32-bit value the guest writes, at any width. */
START_TEST(mhp_selector_widths)
{
	mem_hotplug_plug(hp, 3, 4 * GiB, GiB);
	wr(MEM_HP_BASE_LO, 0x103, 4);
	ck_assert_uint_eq(rd(MEM_HP_FLAGS, 1), 0);
	wr(MEM_HP_BASE_LO, 0x103, 1);
	ck_assert_uint_eq(rd(MEM_HP_FLAGS, 1),
			  MEM_HP_F_ENABLED | MEM_HP_F_INSERT);
	wr(MEM_HP_BASE_LO, 0xFFFF0003, 2);
	ck_assert_uint_eq(rd(MEM_HP_SIZE_LO, 4), 0x40000000);
}
END_TEST

START_TEST(mhp_reset)
{
	const uint64_t base[NSLOTS] = { 4 * GiB, 5 * GiB, 0, ~0ULL };
	const uint64_t size[NSLOTS] = { GiB, 0, GiB, GiB };
	struct mem_hp_status st;

	mem_hotplug_plug(hp, 1, 5 * GiB, GiB);
	mem_hotplug_plug(hp, 0, 4 * GiB, GiB);
	mem_hotplug_request_remove(hp, 0);
	wr(MEM_HP_SIZE_LO, 0x80, 4);
	sel(3);
	mem_hotplug_reset(hp, base, size);
	st = status(0);
	ck_assert(st.enabled && !st.inserting && !st.remove_requested &&
		  !st.removing && !st.ost_valid);
	ck_assert_uint_eq(st.base, 4 * GiB);
	ck_assert(!status(1).enabled);		/* size 0: absent */
	ck_assert(status(2).enabled);		/* base 0 is a base */
	ck_assert(!status(3).enabled);		/* wraps: absent */
	/* The selector is back at 0. */
	ck_assert_uint_eq(rd(MEM_HP_FLAGS, 1), MEM_HP_F_ENABLED);
	mem_hotplug_reset(hp, NULL, NULL);
	for (unsigned int i = 0; i < NSLOTS; i++)
		ck_assert(!status(i).enabled);
}
END_TEST

/* Random writes: never a crash, never an eject that was not asked for. */
START_TEST(mhp_fuzz)
{
	unsigned int seed = 1234;

	mem_hotplug_plug(hp, 0, 4 * GiB, GiB);
	mem_hotplug_plug(hp, 2, 6 * GiB, GiB);
	mem_hotplug_request_remove(hp, 2);
	for (int i = 0; i < 20000; i++) {
		uint8_t d[8];

		for (int j = 0; j < 8; j++)
			d[j] = rand_r(&seed);
		mem_hotplug_io(hp, rand_r(&seed) % 32, d, rand_r(&seed) % 9,
			       rand_r(&seed) & 1);
	}
	ck_assert(ejects == 0 || (ejects == 1 && ejected_slot == 2));
	ck_assert(status(0).enabled);
}
END_TEST

/* --- AML ------------------------------------------------------------------ */

static uint8_t *mhp_dsdt(unsigned int nslots)
{
	struct aml_ctx *ctx = aml_ctx_new();
	struct aml *body = aml_list(ctx), *mhpc;
	uint8_t *aml, *t;
	size_t len;

	mhpc = mem_hotplug_aml(ctx, MHP_PORT, nslots);
	ck_assert_ptr_nonnull(mhpc);
	aml_append(body, mhpc);
	len = aml_size(body);
	aml = malloc(len);
	ck_assert_ptr_nonnull(aml);
	aml_encode(body, aml);
	t = iasl_make_dsdt(aml, len);
	free(aml);
	aml_ctx_free(ctx);
	return t;
}

START_TEST(mhp_aml)
{
	static const char *const want[] = {
		"Device (\\_SB.MHPD)", "EisaId (\"PNP0A06\")",
		"IO (Decode16,", "0x0A00,", "0x01,", "0x18,",
		"OperationRegion (HPMR, SystemIO, 0x0A00, 0x18)",
		"Device (\\_SB.MHPC)", "Name (_UID, \"DIMM devices\")",
		"Name (MDNR, 0x04)", "Mutex (MLCK, 0x00)",
		"Field (\\_SB.MHPD.HPMR, DWordAcc, NoLock, Preserve)",
		"Field (\\_SB.MHPD.HPMR, ByteAcc, NoLock, WriteAsZeros)",
		"MRBL,   32", "MRLH,   32", "MSEL,   32", "MOSC,   32",
		"MINS,   1", "MEJ,    1",
		"Method (MSCN, 0, Serialized)", "While ((Local0 < 0x04))",
		"\\_SB.MHPC.MTFY (Local0, One)",
		"Local1 = \\_SB.MHPC.MFLG", "ElseIf ((Local1 & 0x04))",
		"\\_SB.MHPC.MTFY (Local0, 0x03)",
		"Method (MTFY, 2, NotSerialized)", "Notify (MP03, Arg1)",
		"Method (MRST, 1, Serialized)", "Method (MCRS, 1, Serialized)",
		"QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, "
		"Cacheable, ReadWrite",
		"CreateQWordField (MR64, \\_SB.MHPC.MCRS._Y00._MIN, MIN)",
		"CreateQWordField (MR64, \\_SB.MHPC.MCRS._Y00._MAX, MAX)",
		"CreateQWordField (MR64, \\_SB.MHPC.MCRS._Y00._LEN, LEN)",
		"MIN = ((\\_SB.MHPC.MRBH << 0x20) | \\_SB.MHPC.MRBL)",
		"MAX = ((MIN + LEN) - One)",
		"Method (MOST, 4, Serialized)", "Method (MEJ0, 2, Serialized)",
		"Device (MP03)", "EisaId (\"PNP0C80\")", "Name (_UID, 0x03)",
		"Return (\\_SB.MHPC.MRST (0x03))",
		"Return (\\_SB.MHPC.MCRS (0x03))",
		"\\_SB.MHPC.MOST (0x03, Arg0, Arg1, Arg2)",
		"\\_SB.MHPC.MEJ0 (0x03, Arg0)",
	};
	uint8_t *t = mhp_dsdt(NSLOTS);
	char *dsl = iasl_round_trip("mhpc", t);

	ck_assert_ptr_nonnull(dsl);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(dsl, want[i]), "no \"%s\" in:\n%.4000s",
			      want[i], dsl);
	ck_assert_uint_eq(iasl_count(dsl, "Method (_EJ0"), NSLOTS);
	ck_assert_uint_eq(iasl_count(dsl, "Method (_OST"), NSLOTS);
	ck_assert_uint_eq(iasl_count(dsl, "Method (_CRS"), NSLOTS);
	ck_assert_ptr_null(strstr(dsl, "MP04"));
	ck_assert_ptr_null(strstr(dsl, "_PXM"));
	free(dsl);
	free(t);
}
END_TEST

/* The most slots evmm gives: 64, MP00..MP3F, and the protocol's 256. */
START_TEST(mhp_aml_many)
{
	uint8_t *t = mhp_dsdt(MEM_HP_MAX_SLOTS);
	char *dsl = iasl_round_trip("mhpmax", t);

	ck_assert_ptr_nonnull(dsl);
	ck_assert_ptr_nonnull(strstr(dsl, "Device (MPFF)"));
	ck_assert_ptr_nonnull(strstr(dsl, "Notify (MPFF, Arg1)"));
	ck_assert_uint_eq(iasl_count(dsl, "EisaId (\"PNP0C80\")"), MEM_HP_MAX_SLOTS);
	free(dsl);
	free(t);
}
END_TEST

START_TEST(mhp_aml_rejects)
{
	struct aml_ctx *ctx = aml_ctx_new();

	ck_assert_ptr_null(mem_hotplug_aml(ctx, MHP_PORT, 0));
	ck_assert_ptr_null(mem_hotplug_aml(ctx, MHP_PORT,
					   MEM_HP_MAX_SLOTS + 1));
	ck_assert_ptr_null(mem_hotplug_aml(ctx, 0xFFF0, 4));
	ck_assert_ptr_nonnull(mem_hotplug_aml(ctx, 0xFFE8, 4));
	aml_ctx_free(ctx);
}
END_TEST

Suite *mem_hotplug_suite(void)
{
	Suite *s = suite_create("mem_hotplug");
	TCase *tc = tcase_create("registers");
	TCase *aml = tcase_create("aml");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mhp_new_rejects);
	tcase_add_test(tc, mhp_initial_state);
	tcase_add_test(tc, mhp_registers);
	tcase_add_test(tc, mhp_plug_to_eject);
	tcase_add_test(tc, mhp_vmm_errors);
	tcase_add_test(tc, mhp_hostile_writes);
	tcase_add_test(tc, mhp_one_action_per_write);
	tcase_add_test(tc, mhp_selector_widths);
	tcase_add_test(tc, mhp_reset);
	tcase_add_test(tc, mhp_fuzz);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(aml, iasl_setup, iasl_teardown);
	tcase_set_timeout(aml, 30);
	tcase_add_test(aml, mhp_aml);
	tcase_add_test(aml, mhp_aml_many);
	tcase_add_test(aml, mhp_aml_rejects);
	suite_add_tcase(s, aml);
	return s;
}
