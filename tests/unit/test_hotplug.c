/*
 * The GED and CPU hotplug register models, driven as a guest would (and as
 * a hostile one would), and their AML through iasl.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/cpu_hotplug.h"
#include "devices/ged.h"
#include "tests/unit/iasl.h"

#define NCPUS	5
#define BOOT	3

static const uint32_t apic_ids[NCPUS] = { 0, 2, 4, 9, 16 };

/* --- GED ------------------------------------------------------------------ */

static int irqs;

static void count_irq(void *opaque)
{
	(void)opaque;
	irqs++;
}

static uint64_t ged_rd(struct ged *g, uint64_t offset, uint32_t len)
{
	uint8_t d[8];
	uint64_t v = 0;

	memset(d, 0xaa, sizeof(d));
	ged_io(g, offset, d, len, false);
	while (len--)
		v = v << 8 | d[len];
	return v;
}

static struct ged *ged_setup(void)
{
	struct ged *g = ged_new(count_irq, NULL);

	ck_assert_ptr_nonnull(g);
	irqs = 0;
	return g;
}

START_TEST(ged_read_clears)
{
	struct ged *g = ged_setup();

	ck_assert_uint_eq(ged_rd(g, 0, 4), 0);
	ged_raise(g, GED_CPU_HOTPLUG);
	ck_assert_int_eq(irqs, 1);
	ck_assert_uint_eq(ged_rd(g, 0, 4), GED_CPU_HOTPLUG);
	ck_assert_uint_eq(ged_rd(g, 0, 4), 0);
	ged_free(g);
}
END_TEST

START_TEST(ged_events_accumulate)
{
	struct ged *g = ged_setup();

	ged_raise(g, GED_CPU_HOTPLUG);
	ged_raise(g, GED_POWER_BUTTON);
	ged_raise(g, GED_CPU_HOTPLUG);
	ck_assert_int_eq(irqs, 3);
	ck_assert_uint_eq(ged_rd(g, 0, 4), GED_CPU_HOTPLUG | GED_POWER_BUTTON);
	ged_raise(g, GED_MEM_HOTPLUG);
	ck_assert_uint_eq(ged_rd(g, 0, 4), GED_MEM_HOTPLUG);
	ck_assert_int_eq(irqs, 4);
	ged_free(g);
}
END_TEST

/* A narrow read returns the low bytes but still takes every event. */
START_TEST(ged_widths)
{
	struct ged *g = ged_setup();

	ged_raise(g, 0x01020304);
	ck_assert_uint_eq(ged_rd(g, 0, 1), 0x04);
	ck_assert_uint_eq(ged_rd(g, 0, 4), 0);
	ged_raise(g, 0x01020304);
	ck_assert_uint_eq(ged_rd(g, 0, 2), 0x0304);
	ck_assert_uint_eq(ged_rd(g, 0, 4), 0);
	ged_raise(g, 0x01020304);
	ck_assert_uint_eq(ged_rd(g, 0, 3), 0x020304);
	ck_assert_uint_eq(ged_rd(g, 0, 4), 0);
	ged_free(g);
}
END_TEST

/* Other offsets, wide reads and writes neither see nor clear the events. */
START_TEST(ged_odd_accesses)
{
	struct ged *g = ged_setup();
	uint8_t d[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint64_t off;

	ged_raise(g, 0xffffffff);
	for (off = 1; off < 16; off++) {
		ck_assert_uint_eq(ged_rd(g, off, 1), 0);
		ck_assert_uint_eq(ged_rd(g, off, 2), 0);
		ck_assert_uint_eq(ged_rd(g, off, 4), 0);
	}
	ck_assert_uint_eq(ged_rd(g, 0, 8), 0);
	ck_assert_uint_eq(ged_rd(g, UINT64_MAX, 4), 0);
	ged_io(g, 0, d, 4, true);
	ged_io(g, 0, d, 8, true);
	ged_io(g, 2, d, 1, true);
	ck_assert_uint_eq(ged_rd(g, 0, 4), 0xffffffff);
	ck_assert_int_eq(irqs, 1);
	ged_free(g);
}
END_TEST

START_TEST(ged_reset_forgets)
{
	struct ged *g = ged_new(NULL, NULL);

	ck_assert_ptr_nonnull(g);
	ged_raise(g, GED_CPU_HOTPLUG);		/* no irq callback: fine */
	ged_reset(g);
	ck_assert_uint_eq(ged_rd(g, 0, 4), 0);
	ged_free(g);
	ged_free(NULL);
}
END_TEST

/* --- CPU hotplug: helpers ------------------------------------------------- */

static struct cpu_hotplug *hp;
static int ejects;
static unsigned int ejected_cpu;

/* Runs unlocked: a status call here would deadlock otherwise. */
static void record_eject(void *opaque, unsigned int cpu)
{
	struct hp_slot st;

	ck_assert_ptr_eq(opaque, &ejects);
	cpu_hotplug_status(hp, cpu, &st);
	ck_assert(!st.enabled);
	ck_assert(st.ejected);
	ejects++;
	ejected_cpu = cpu;
}

static void hp_setup(void)
{
	hp = cpu_hotplug_new(NCPUS, BOOT, apic_ids, record_eject, &ejects);
	ck_assert_ptr_nonnull(hp);
	ejects = 0;
	ejected_cpu = ~0u;
}

static void hp_teardown(void)
{
	cpu_hotplug_free(hp);
	hp = NULL;
}

static void wr(uint64_t offset, uint32_t value, uint32_t len)
{
	uint8_t d[4];
	uint32_t i;

	for (i = 0; i < 4; i++)
		d[i] = value >> (8 * i);
	cpu_hotplug_io(hp, offset, d, len, true);
}

static uint32_t rd(uint64_t offset, uint32_t len)
{
	uint8_t d[4];
	uint32_t v = 0;

	memset(d, 0xaa, sizeof(d));
	cpu_hotplug_io(hp, offset, d, len, false);
	while (len--)
		v = v << 8 | d[len];
	return v;
}

static void sel(uint32_t cpu)
{
	wr(CPU_HP_SEL, cpu, 4);
}

static uint8_t flags_of(uint32_t cpu)
{
	sel(cpu);
	return rd(CPU_HP_FLAGS, 1);
}

static void cmd(uint8_t c)
{
	wr(CPU_HP_CMD, c, 1);
}

static struct hp_slot status(unsigned int cpu)
{
	struct hp_slot st;

	cpu_hotplug_status(hp, cpu, &st);
	return st;
}

static void snapshot(struct hp_slot *st)
{
	unsigned int i;

	for (i = 0; i < NCPUS; i++)
		st[i] = status(i);
}

/* Field by field: memcmp would compare the padding. */
static bool same_status(const struct hp_slot *a,
			const struct hp_slot *b)
{
	return a->enabled == b->enabled && a->inserting == b->inserting &&
	       a->remove_requested == b->remove_requested &&
	       a->removing == b->removing && a->ejected == b->ejected &&
	       a->ost_event == b->ost_event && a->ost_status == b->ost_status &&
	       a->ost_valid == b->ost_valid;
}

static void expect_same(const struct hp_slot *a,
			const struct hp_slot *b, unsigned int except)
{
	unsigned int i;

	for (i = 0; i < NCPUS; i++)
		if (i != except)
			ck_assert_msg(same_status(&a[i], &b[i]),
				      "slot %u changed", i);
}

/* --- CPU hotplug: the state machine --------------------------------------- */

START_TEST(cpu_initial_state)
{
	unsigned int i;

	for (i = 0; i < NCPUS; i++)
		ck_assert_uint_eq(flags_of(i), i < BOOT ? CPU_HP_F_ENABLED : 0);
	ck_assert(!status(4).enabled);
	ck_assert(status(0).enabled);
	ck_assert(!status(0).ost_valid);
}
END_TEST

/* The whole life of a slot: plug, ack, remove request, scan, eject. */
START_TEST(cpu_plug_to_eject)
{
	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	ck_assert_uint_eq(flags_of(3), CPU_HP_F_ENABLED | CPU_HP_F_INSERT);
	ck_assert(status(3).inserting);
	wr(CPU_HP_FLAGS, CPU_HP_F_INSERT, 1);		/* the guest's ack */
	ck_assert_uint_eq(flags_of(3), CPU_HP_F_ENABLED);
	wr(CPU_HP_FLAGS, CPU_HP_F_EJECT, 1);		/* nobody asked */
	ck_assert_uint_eq(flags_of(3), CPU_HP_F_ENABLED);
	ck_assert_int_eq(ejects, 0);

	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 3), 0);
	ck_assert(status(3).remove_requested && status(3).removing);
	sel(0);
	cmd(CPU_HP_CMD_NEXT_EVENT);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 3);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1),
			  CPU_HP_F_ENABLED | CPU_HP_F_REMOVE);
	wr(CPU_HP_FLAGS, CPU_HP_F_REMOVE, 1);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1), CPU_HP_F_ENABLED);
	ck_assert(status(3).remove_requested && !status(3).removing);
	ck_assert(!cpu_hotplug_take_ejected(hp, 3));

	wr(CPU_HP_FLAGS, CPU_HP_F_EJECT, 1);
	ck_assert_int_eq(ejects, 1);
	ck_assert_uint_eq(ejected_cpu, 3);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1), 0);	/* _STA now: 0 */
	ck_assert(!status(3).remove_requested && status(3).ejected);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), -EINVAL);	/* not taken */
	ck_assert(cpu_hotplug_take_ejected(hp, 3));
	ck_assert(!cpu_hotplug_take_ejected(hp, 3));
	wr(CPU_HP_FLAGS, CPU_HP_F_EJECT, 1);		/* twice: nothing */
	ck_assert_int_eq(ejects, 1);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);	/* and back again */
	ck_assert_uint_eq(flags_of(3), CPU_HP_F_ENABLED | CPU_HP_F_INSERT);
}
END_TEST

START_TEST(cpu_boot_never_ejected)
{
	unsigned int i;

	for (i = 0; i < BOOT; i++) {
		ck_assert_int_eq(cpu_hotplug_request_remove(hp, i), -EINVAL);
		sel(i);
		wr(CPU_HP_FLAGS, CPU_HP_F_EJECT, 1);
		ck_assert_uint_eq(flags_of(i), CPU_HP_F_ENABLED);
	}
	ck_assert_int_eq(ejects, 0);
	ck_assert(!cpu_hotplug_take_ejected(hp, 0));
}
END_TEST

START_TEST(cpu_vmm_api_errors)
{
	struct hp_slot st;

	ck_assert_int_eq(cpu_hotplug_plug(hp, 0), -EINVAL);	/* enabled */
	ck_assert_int_eq(cpu_hotplug_plug(hp, NCPUS), -EINVAL);
	ck_assert_int_eq(cpu_hotplug_plug(hp, ~0u), -EINVAL);
	/* absent */
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 4), -EINVAL);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, NCPUS), -EINVAL);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 4), 0);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 4), -EINVAL);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 4), 0);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 4), -EINVAL);
	ck_assert(!cpu_hotplug_take_ejected(hp, NCPUS));
	memset(&st, 0xff, sizeof(st));
	cpu_hotplug_status(hp, NCPUS, &st);
	ck_assert(!st.enabled && !st.ost_valid && !st.ost_event);
}
END_TEST

START_TEST(cpu_new_rejects)
{
	static const uint32_t bad[2] = { 0, 255 };

	ck_assert_ptr_null(cpu_hotplug_new(0, 0, apic_ids, NULL, NULL));
	ck_assert_ptr_null(cpu_hotplug_new(NCPUS, 0, apic_ids, NULL, NULL));
	ck_assert_ptr_null(cpu_hotplug_new(2, 3, apic_ids, NULL, NULL));
	ck_assert_ptr_null(cpu_hotplug_new(2, 1, NULL, NULL, NULL));
	ck_assert_ptr_null(cpu_hotplug_new(2, 1, bad, NULL, NULL));
	ck_assert_ptr_null(cpu_hotplug_new(256, 1, apic_ids, NULL, NULL));
	cpu_hotplug_free(NULL);
}
END_TEST

/* No eject callback: the eject still happens. */
START_TEST(cpu_no_callback)
{
	struct cpu_hotplug *c = cpu_hotplug_new(2, 1, apic_ids, NULL, NULL);
	uint8_t d[4] = { 1, 0, 0, 0 };

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cpu_hotplug_plug(c, 1), 0);
	ck_assert_int_eq(cpu_hotplug_request_remove(c, 1), 0);
	cpu_hotplug_io(c, CPU_HP_SEL, d, 4, true);
	d[0] = CPU_HP_F_EJECT;
	cpu_hotplug_io(c, CPU_HP_FLAGS, d, 1, true);
	ck_assert(cpu_hotplug_take_ejected(c, 1));
	cpu_hotplug_free(c);
}
END_TEST

START_TEST(cpu_selector_out_of_range)
{
	static const uint32_t bad[] = { NCPUS, NCPUS + 1, 0x100, 0xffffffff };
	struct hp_slot before[NCPUS], after[NCPUS];
	uint64_t off;
	size_t i;

	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 4), 0);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 4), 0);
	sel(1);
	cmd(CPU_HP_CMD_ARCH_ID);
	snapshot(before);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sel(bad[i]);
		for (off = 0; off < 16; off++)
			ck_assert_uint_eq(rd(off, 4), 0);
		wr(CPU_HP_FLAGS, 0xff, 1);
		wr(CPU_HP_FLAGS, CPU_HP_F_EJECT, 1);
		wr(CPU_HP_FLAGS, CPU_HP_F_REMOVE |
		   CPU_HP_CMD_NEXT_EVENT << 8, 2);
		cmd(CPU_HP_CMD_NEXT_EVENT);	/* would move the selector */
		cmd(CPU_HP_CMD_OST_STATUS);
		wr(CPU_HP_DATA, 0x1234, 4);
	}
	snapshot(after);
	expect_same(before, after, ~0u);
	ck_assert_int_eq(ejects, 0);
	sel(1);					/* the command is still 3 */
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), apic_ids[1]);
}
END_TEST

/* The flags byte is an if/else chain: one action, the lowest bit first. */
START_TEST(cpu_garbage_flags)
{
	ck_assert_int_eq(cpu_hotplug_plug(hp, 4), 0);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 4), 0);
	sel(4);
	wr(CPU_HP_FLAGS, 0x00, 1);
	wr(CPU_HP_FLAGS, 0x10, 1);			/* firmware eject: no */
	wr(CPU_HP_FLAGS, 0x01, 1);
	wr(CPU_HP_FLAGS, 0xe0, 1);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1), CPU_HP_F_ENABLED |
			  CPU_HP_F_INSERT | CPU_HP_F_REMOVE);
	wr(CPU_HP_FLAGS, 0xff, 1);			/* clears insert only */
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1),
			  CPU_HP_F_ENABLED | CPU_HP_F_REMOVE);
	wr(CPU_HP_FLAGS, 0xfc, 1);			/* clears remove only */
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1), CPU_HP_F_ENABLED);
	ck_assert_int_eq(ejects, 0);
	ck_assert(status(4).remove_requested);
	wr(CPU_HP_FLAGS, 0xf8, 1);			/* eject */
	ck_assert_int_eq(ejects, 1);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1), 0);
}
END_TEST

START_TEST(cpu_bad_commands)
{
	sel(2);
	cmd(CPU_HP_CMD_ARCH_ID);
	cmd(4);
	cmd(0xff);
	wr(CPU_HP_CMD, 0x100, 2);		/* byte 0 is 0: next event */
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 2);
	cmd(CPU_HP_CMD_ARCH_ID);
	wr(CPU_HP_CMD, 0x0504, 4);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), apic_ids[2]);
	cmd(CPU_HP_CMD_OST_EVENT);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 0);
	ck_assert_uint_eq(rd(CPU_HP_SEL, 4), 0);
}
END_TEST

/* CMD 0 scans from the selector on, wrapping, and stays put if nothing. */
START_TEST(cpu_next_event_wraps)
{
	sel(2);
	cmd(CPU_HP_CMD_NEXT_EVENT);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 2);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 4), 0);
	sel(4);
	cmd(CPU_HP_CMD_NEXT_EVENT);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 4);
	wr(CPU_HP_FLAGS, CPU_HP_F_INSERT, 1);
	cmd(CPU_HP_CMD_NEXT_EVENT);		/* 4 → wraps → 3 */
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 3);
	wr(CPU_HP_FLAGS, CPU_HP_F_INSERT, 1);
	sel(1);
	cmd(CPU_HP_CMD_NEXT_EVENT);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 1);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 3), 0);
	sel(4);
	cmd(CPU_HP_CMD_NEXT_EVENT);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 3);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 2), 3);
	ck_assert_uint_eq(rd(CPU_HP_DATA + 1, 1), 0);
}
END_TEST

/* What COST does: CCMD 1, CDAT event, CCMD 2, CDAT status. */
START_TEST(cpu_ost)
{
	struct hp_slot st;

	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	sel(3);
	cmd(CPU_HP_CMD_OST_EVENT);
	wr(CPU_HP_DATA, 0x103, 4);
	ck_assert(!status(3).ost_valid);
	cmd(CPU_HP_CMD_OST_STATUS);
	wr(CPU_HP_DATA, 0x84, 4);
	st = status(3);
	ck_assert(st.ost_valid);
	ck_assert_uint_eq(st.ost_event, 0x103);
	ck_assert_uint_eq(st.ost_status, 0x84);
	ck_assert(!status(2).ost_valid);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 0);	/* not readable back */
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 3), 0);
	ck_assert(!status(3).ost_valid);
	cmd(CPU_HP_CMD_OST_STATUS);
	wr(CPU_HP_DATA, 0, 1);
	ck_assert(status(3).ost_valid);
	wr(CPU_HP_FLAGS, CPU_HP_F_EJECT, 1);
	ck_assert(cpu_hotplug_take_ejected(hp, 3));
	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	ck_assert(!status(3).ost_valid);
}
END_TEST

START_TEST(cpu_arch_id)
{
	unsigned int i;

	for (i = 0; i < NCPUS; i++) {
		sel(i);
		cmd(CPU_HP_CMD_ARCH_ID);
		ck_assert_uint_eq(rd(CPU_HP_DATA, 4), apic_ids[i]);
		ck_assert_uint_eq(rd(CPU_HP_DATA, 1), apic_ids[i] & 0xff);
		ck_assert_uint_eq(rd(CPU_HP_SEL, 4), 0);	/* high half */
	}
}
END_TEST

/* Selector writes of any width; a dword at 4 is flags, then command. */
START_TEST(cpu_write_widths)
{
	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	wr(CPU_HP_SEL, 0xffffff03, 1);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1),
			  CPU_HP_F_ENABLED | CPU_HP_F_INSERT);
	wr(CPU_HP_SEL, 0xffff0004, 2);
	cmd(CPU_HP_CMD_NEXT_EVENT);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 3);
	wr(CPU_HP_SEL, 0x4, 3);
	wr(CPU_HP_SEL + 1, 0x1, 1);		/* mid-selector: ignored */
	wr(CPU_HP_SEL + 3, 0x1, 1);
	cmd(CPU_HP_CMD_ARCH_ID);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), apic_ids[4]);
	sel(3);
	wr(CPU_HP_FLAGS, CPU_HP_F_INSERT | CPU_HP_CMD_ARCH_ID << 8, 4);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 1), CPU_HP_F_ENABLED);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), apic_ids[3]);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS, 4), CPU_HP_F_ENABLED);
	ck_assert_uint_eq(rd(CPU_HP_FLAGS + 2, 2), 0);
	ck_assert_uint_eq(rd(CPU_HP_SEL + 2, 4), CPU_HP_F_ENABLED << 16);
}
END_TEST

START_TEST(cpu_reset)
{
	static const bool present[NCPUS] = { true, true, true, false, true };

	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 4), 0);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 3), 0);
	sel(4);
	cmd(CPU_HP_CMD_ARCH_ID);
	cpu_hotplug_reset(hp, present);
	ck_assert_uint_eq(flags_of(3), 0);
	ck_assert_uint_eq(flags_of(4), CPU_HP_F_ENABLED);
	ck_assert(!status(3).remove_requested && !status(3).removing);
	ck_assert(!status(4).inserting);
	ck_assert_uint_eq(rd(CPU_HP_DATA, 4), 4);	/* command back to 0 */
	cpu_hotplug_reset(hp, NULL);			/* boot CPUs only */
	ck_assert_uint_eq(flags_of(2), CPU_HP_F_ENABLED);
	ck_assert_uint_eq(flags_of(4), 0);
}
END_TEST

/* --- Fuzz: garbage at every offset and width (fixed seed) ----------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t fuzz_next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng >> 32;
}

/* Every slot in a different state. */
static void fuzz_scenario(void)
{
	cpu_hotplug_reset(hp, NULL);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 3), 0);
	ck_assert_int_eq(cpu_hotplug_plug(hp, 4), 0);
	ck_assert_int_eq(cpu_hotplug_request_remove(hp, 4), 0);
}

/* Half the bytes small: selectors and commands that hit something. */
static uint8_t fuzz_byte(void)
{
	uint32_t r = fuzz_next();

	return r & 1 ? r >> 8 : (r >> 8) % 16;
}

/* Half the time one of the registers, else any offset of the 16. */
static uint64_t fuzz_offset(void)
{
	static const uint64_t regs[] = {
		CPU_HP_SEL, CPU_HP_FLAGS, CPU_HP_CMD, CPU_HP_DATA,
	};
	uint32_t r = fuzz_next();

	return r & 1 ? regs[(r >> 1) % 4] : (r >> 1) % 16;
}

/* One random access; a read must fill exactly len bytes. */
static void fuzz_access(uint64_t offset)
{
	static const uint32_t widths[] = { 1, 2, 4, 8 };
	uint32_t len = widths[fuzz_next() % 4], i;
	bool is_write = fuzz_next() & 1;
	uint8_t d[16];

	for (i = 0; i < sizeof(d); i++)
		d[i] = fuzz_byte();
	memset(d + len, 0xa5, sizeof(d) - len);
	cpu_hotplug_io(hp, offset, d, len, is_write);
	for (i = len; i < sizeof(d); i++)
		ck_assert_uint_eq(d[i], 0xa5);
}

/* Within one access only the selected slot may change. */
START_TEST(cpu_fuzz_isolated)
{
	struct hp_slot before[NCPUS], after[NCPUS];
	unsigned int n, k;
	int ejects_before;

	for (n = 0; n < 20000; n++) {
		if (n % 32 == 0)
			fuzz_scenario();
		k = fuzz_next() % (NCPUS + 2);
		sel(k < NCPUS ? k : 0xffffffff - (k - NCPUS));
		snapshot(before);
		ejects_before = ejects;
		fuzz_access(fuzz_offset());
		snapshot(after);
		expect_same(before, after, k);
		if (ejects != ejects_before)
			ck_assert_uint_eq(ejected_cpu, k);
	}
}
END_TEST

/* Selector writes too: boot CPUs stay, only asked-for ejects happen. */
START_TEST(cpu_fuzz_free)
{
	unsigned int n, i;
	struct hp_slot st;

	for (n = 0; n < 100000; n++) {
		if (n % 64 == 0)
			fuzz_scenario();
		fuzz_access(fuzz_offset());
		for (i = 0; i < BOOT; i++)
			ck_assert(status(i).enabled);
		st = status(3);
		ck_assert(!st.ejected);		/* never asked to leave */
	}
	ck_assert_int_gt(ejects, 0);		/* the fuzzer got that far */
	for (n = 0; n < 16; n++)
		fuzz_access(UINT64_MAX - n);
}
END_TEST

START_TEST(ged_fuzz)
{
	struct ged *g = ged_setup();
	uint8_t d[16];
	unsigned int n, i;
	uint32_t len;

	for (n = 0; n < 5000; n++) {
		if (n % 7 == 0)
			ged_raise(g, fuzz_next());
		len = 1u << (fuzz_next() % 4);
		memset(d, 0xa5, sizeof(d));
		ged_io(g, fuzz_next() % 16, d, len, fuzz_next() & 1);
		for (i = len; i < sizeof(d); i++)
			ck_assert_uint_eq(d[i], 0xa5);
	}
	ged_free(g);
}
END_TEST

/* --- AML through iasl ----------------------------------------------------- */

#define GED_BASE	0xfeb00000
#define CPU_HP_BASE	0xcd8
#define GED_GSI		9

/* The handler that _EVT calls for GED_MEM_HOTPLUG, so the DSDT loads. */
static struct aml *mhpc_stub(struct aml_ctx *ctx)
{
	struct aml *dev = aml_device(ctx, "\\_SB.MHPC");

	aml_append(dev, aml_name_decl(ctx, "_HID", aml_string(ctx, "PNP0A06")));
	aml_append(dev, aml_method(ctx, "MSCN", 0, 1));
	return dev;
}

/*
 * A DSDT with the GED (first, so _EVT refers forward) and the CPU
 * controller; in_sb: both inside Scope (\_SB) rather than at the root.
 */
static uint8_t *hotplug_dsdt(unsigned int ncpus, unsigned int boot,
			     const uint32_t *ids, uint32_t events, bool in_sb)
{
	struct aml_ctx *ctx = aml_ctx_new();
	struct aml *body = in_sb ? aml_scope(ctx, "\\_SB") : aml_list(ctx);
	struct aml *cpus;
	uint8_t *aml, *t;
	size_t len;

	aml_append(body, ged_aml(ctx, GED_BASE, GED_GSI, events));
	cpus = cpu_hotplug_aml(ctx, CPU_HP_BASE, ncpus, boot, ids);
	ck_assert_ptr_nonnull(cpus);
	aml_append(body, cpus);
	if (events & GED_MEM_HOTPLUG)
		aml_append(body, mhpc_stub(ctx));
	len = aml_size(body);
	aml = malloc(len);
	ck_assert_ptr_nonnull(aml);
	aml_encode(body, aml);
	t = iasl_make_dsdt(aml, len);
	free(aml);
	aml_ctx_free(ctx);
	return t;
}

static void expect_in(const char *dsl, const char *const *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(strstr(dsl, want[i]), "no \"%s\" in:\n%.3000s",
			      want[i], dsl);
}

START_TEST(aml_five_cpus)
{
	static const char *const want[] = {
		"Device (\\_SB.GED)", "Name (_HID, \"ACPI0013\"",
		"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive",
		"0x00000009,",
		"Method (_EVT, 1, Serialized)",
		"OperationRegion (EREG, SystemMemory, 0xFEB00000, 0x04)",
		"Field (EREG, DWordAcc, NoLock, WriteAsZeros)",
		"\\_SB.CPUS.CSCN ()", "\\_SB.MHPC.MSCN ()",
		"Notify (\\_SB.PWRB, 0x80)", "Device (\\_SB.PWRB)",
		"EisaId (\"PNP0C0C\")",
		"Device (\\_SB.PRES)", "EisaId (\"PNP0A06\")",
		"Mutex (CPLK, 0x00)",
		"IO (Decode16,", "0x0CD8,", "0x0C,",
		"OperationRegion (PRST, SystemIO, 0x0CD8, 0x0C)",
		"Field (PRST, ByteAcc, NoLock, WriteAsZeros)",
		"Field (PRST, DWordAcc, NoLock, Preserve)",
		"CEJ0,   1,", "CCMD,   8", "CDAT,   32",
		"Device (\\_SB.CPUS)", "Name (_HID, \"ACPI0010\"",
		"EisaId (\"PNP0A05\")", "Method (CSCN, 0, Serialized)",
		"Method (CTFY, 2, NotSerialized)",
		"Method (COST, 4, Serialized)",
		"While ((Local0 < 0x05))", "Local1 = \\_SB.PRES.CFLG",
		"ElseIf ((Local1 & 0x04))",
		"CTFY (Local0, 0x03)", "Notify (C004, Arg1)",
		"Device (C004)", "Name (_HID, \"ACPI0007\"",
		"Name (_UID, 0x04)", "Return (CSTA (0x04))", "CEJ0 (0x04)",
		"COST (0x04, Arg0, Arg1, Arg2)",
		"0x00, 0x08, 0x04, 0x10, 0x01, 0x00, 0x00, 0x00",
		"0x00, 0x08, 0x03, 0x09, 0x01, 0x00, 0x00, 0x00",
		"0x00, 0x08, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00",
	};
	uint8_t *t = hotplug_dsdt(NCPUS, BOOT, apic_ids, GED_CPU_HOTPLUG |
				  GED_MEM_HOTPLUG | GED_POWER_BUTTON, false);
	char *dsl = iasl_round_trip("five", t);

	ck_assert_ptr_nonnull(dsl);
	expect_in(dsl, want, sizeof(want) / sizeof(want[0]));
	ck_assert_uint_eq(iasl_count(dsl, "Method (_EJ0"), NCPUS - BOOT);
	ck_assert_uint_eq(iasl_count(dsl, "Method (_OST"), NCPUS);
	ck_assert_uint_eq(iasl_count(dsl, "Name (_MAT"), NCPUS);
	ck_assert_ptr_null(strstr(dsl, "C005"));
	free(dsl);
	free(t);
}
END_TEST

START_TEST(aml_one_cpu_in_sb)
{
	static const uint32_t id = 7;
	static const char *const want[] = {
		"Device (C000)", "Return (CSTA (Zero))",
		"0x00, 0x08, 0x00, 0x07, 0x01, 0x00, 0x00, 0x00",
		"While ((Local0 < One))", "Device (\\_SB.PWRB)",
		"\\_SB.CPUS.CSCN ()",
	};
	uint8_t *t = hotplug_dsdt(1, 1, &id, GED_CPU_HOTPLUG | GED_POWER_BUTTON,
				  true);
	char *dsl = iasl_round_trip("one", t);

	ck_assert_ptr_nonnull(dsl);
	expect_in(dsl, want, sizeof(want) / sizeof(want[0]));
	ck_assert_ptr_null(strstr(dsl, "Method (_EJ0"));
	ck_assert_ptr_null(strstr(dsl, "MSCN"));
	ck_assert_ptr_null(strstr(dsl, "C001"));
	free(dsl);
	free(t);
}
END_TEST

/* The largest machine: 255 slots, C000..C0FE. */
START_TEST(aml_max_cpus)
{
	static uint32_t ids[255];
	unsigned int i;
	uint8_t *t;
	char *dsl;

	for (i = 0; i < 255; i++)
		ids[i] = 254 - i;
	t = hotplug_dsdt(255, 2, ids, GED_CPU_HOTPLUG, false);
	dsl = iasl_round_trip("max", t);
	ck_assert_ptr_nonnull(dsl);
	ck_assert_ptr_nonnull(strstr(dsl, "Device (C0FE)"));
	ck_assert_ptr_nonnull(strstr(dsl, "Notify (C0FE, Arg1)"));
	ck_assert_uint_eq(iasl_count(dsl, "Method (_EJ0"), 253);
	free(dsl);
	free(t);
}
END_TEST

START_TEST(aml_bad_description)
{
	static const uint32_t bad[2] = { 0, 255 };
	struct aml_ctx *ctx = aml_ctx_new();

	ck_assert_ptr_null(cpu_hotplug_aml(ctx, CPU_HP_BASE, 0, 0, apic_ids));
	ck_assert_ptr_null(cpu_hotplug_aml(ctx, CPU_HP_BASE, 2, 0, apic_ids));
	ck_assert_ptr_null(cpu_hotplug_aml(ctx, CPU_HP_BASE, 2, 3, apic_ids));
	ck_assert_ptr_null(cpu_hotplug_aml(ctx, CPU_HP_BASE, 2, 1, bad));
	ck_assert_ptr_null(cpu_hotplug_aml(ctx, CPU_HP_BASE, 2, 1, NULL));
	ck_assert_ptr_null(cpu_hotplug_aml(ctx, 0x10000 - 8, 2, 1, apic_ids));
	ck_assert_ptr_nonnull(cpu_hotplug_aml(ctx, 0x10000 - 12, 2, 1,
					      apic_ids));
	aml_ctx_free(ctx);
}
END_TEST

Suite *hotplug_suite(void)
{
	Suite *s = suite_create("hotplug");
	TCase *ged = tcase_create("ged"), *cpu = tcase_create("cpu");
	TCase *fuzz = tcase_create("fuzz"), *aml = tcase_create("aml");

	tcase_add_test(ged, ged_read_clears);
	tcase_add_test(ged, ged_events_accumulate);
	tcase_add_test(ged, ged_widths);
	tcase_add_test(ged, ged_odd_accesses);
	tcase_add_test(ged, ged_reset_forgets);
	tcase_add_checked_fixture(cpu, hp_setup, hp_teardown);
	tcase_add_test(cpu, cpu_initial_state);
	tcase_add_test(cpu, cpu_plug_to_eject);
	tcase_add_test(cpu, cpu_boot_never_ejected);
	tcase_add_test(cpu, cpu_vmm_api_errors);
	tcase_add_test(cpu, cpu_new_rejects);
	tcase_add_test(cpu, cpu_no_callback);
	tcase_add_test(cpu, cpu_selector_out_of_range);
	tcase_add_test(cpu, cpu_garbage_flags);
	tcase_add_test(cpu, cpu_bad_commands);
	tcase_add_test(cpu, cpu_next_event_wraps);
	tcase_add_test(cpu, cpu_ost);
	tcase_add_test(cpu, cpu_arch_id);
	tcase_add_test(cpu, cpu_write_widths);
	tcase_add_test(cpu, cpu_reset);
	tcase_add_checked_fixture(fuzz, hp_setup, hp_teardown);
	tcase_add_test(fuzz, cpu_fuzz_isolated);
	tcase_add_test(fuzz, cpu_fuzz_free);
	tcase_add_test(fuzz, ged_fuzz);
	tcase_set_timeout(fuzz, 60);
	tcase_add_unchecked_fixture(aml, iasl_setup, iasl_teardown);
	tcase_add_test(aml, aml_five_cpus);
	tcase_add_test(aml, aml_one_cpu_in_sb);
	tcase_add_test(aml, aml_max_cpus);
	tcase_add_test(aml, aml_bad_description);
	tcase_set_timeout(aml, 60);
	suite_add_tcase(s, ged);
	suite_add_tcase(s, cpu);
	suite_add_tcase(s, fuzz);
	suite_add_tcase(s, aml);
	return s;
}
