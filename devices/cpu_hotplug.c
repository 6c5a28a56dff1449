/*
 * ACPI CPU hotplug controller: QEMU's "modern" register block
 * (acpi-hotplug-protocols.md §1) and the \_SB.PRES + \_SB.CPUS AML.
 *
 * Guest writes, by offset (lengths other than 1..4 are ignored):
 *	0	the selector, zero-extended from the bytes written
 *	4	flags action (byte 0); with len >= 2, byte 1 is a command
 *	5	command (byte 0; the bytes after it are reserved)
 *	8	command data, zero-extended
 * Anything else is ignored, and so is everything but the selector while
 * the selector is out of range. Reads see the block as 12 bytes (data 2
 * at 0 is always 0: APIC ids fit 32 bits) and have no side effects.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/cpu_hotplug.h"
#include "devices/hp_slot.h"

/* _MAT type 0 has an 8-bit UID and APIC id; APIC id 0xFF is broadcast. */
#define CPU_HP_MAX_CPUS		255
#define CPU_HP_NO_EJECT		(-1)

struct cpu_hotplug {
	pthread_mutex_t lock;
	unsigned int ncpus, boot;
	uint32_t selector;	/* guest-written: only an index when < ncpus */
	uint8_t cmd;
	cpu_hp_eject_fn eject;
	void *opaque;
	uint32_t *apic_ids;
	struct hp_slot slots[];
};

static bool cpu_hp_valid(unsigned int ncpus, unsigned int boot,
			 const uint32_t *apic_ids)
{
	unsigned int i;

	if (!ncpus || ncpus > CPU_HP_MAX_CPUS || !boot || boot > ncpus ||
	    !apic_ids)
		return false;
	for (i = 0; i < ncpus; i++)
		if (apic_ids[i] >= 0xff)
			return false;
	return true;
}

struct cpu_hotplug *cpu_hotplug_new(unsigned int ncpus, unsigned int boot,
				    const uint32_t *apic_ids,
				    cpu_hp_eject_fn eject, void *opaque)
{
	struct cpu_hotplug *c;
	unsigned int i;

	if (!cpu_hp_valid(ncpus, boot, apic_ids)) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c) + ncpus * sizeof(c->slots[0]));
	if (!c)
		return NULL;
	c->apic_ids = calloc(ncpus, sizeof(*c->apic_ids));
	if (!c->apic_ids) {
		free(c);
		return NULL;
	}
	memcpy(c->apic_ids, apic_ids, ncpus * sizeof(*apic_ids));
	pthread_mutex_init(&c->lock, NULL);
	c->ncpus = ncpus;
	c->boot = boot;
	c->eject = eject;
	c->opaque = opaque;
	for (i = 0; i < boot; i++)
		c->slots[i].enabled = true;
	return c;
}

void cpu_hotplug_free(struct cpu_hotplug *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->apic_ids);
	free(c);
}

/* --- Guest side (vCPU threads) -------------------------------------------- */

static struct hp_slot *cpu_hp_selected(struct cpu_hotplug *c)
{
	return c->selector < c->ncpus ? &c->slots[c->selector] : NULL;
}

/* The 12 bytes a read sees right now. */
static void cpu_hp_regs(struct cpu_hotplug *c, uint8_t *regs)
{
	struct hp_slot *s = cpu_hp_selected(c);
	uint32_t data = 0;
	int i;

	memset(regs, 0, CPU_HP_IO_SIZE);
	if (!s)
		return;
	regs[CPU_HP_FLAGS] = hp_slot_flags(s);
	if (c->cmd == CPU_HP_CMD_NEXT_EVENT)
		data = c->selector;
	else if (c->cmd == CPU_HP_CMD_ARCH_ID)
		data = c->apic_ids[c->selector];
	for (i = 0; i < 4; i++)
		regs[CPU_HP_DATA + i] = data >> (8 * i);
}

static void cpu_hp_read(struct cpu_hotplug *c, uint64_t offset,
			uint8_t *data, uint32_t len)
{
	uint8_t regs[CPU_HP_IO_SIZE];
	uint64_t n;

	memset(data, 0, len);
	if (offset >= CPU_HP_IO_SIZE)
		return;
	pthread_mutex_lock(&c->lock);
	cpu_hp_regs(c, regs);
	pthread_mutex_unlock(&c->lock);
	n = CPU_HP_IO_SIZE - offset;
	memcpy(data, regs + offset, len < n ? len : n);
}

/* Boot CPUs are never ejected. */
static int cpu_hp_write_flags(struct cpu_hotplug *c, uint8_t v)
{
	if (hp_slot_write_flags(&c->slots[c->selector], v,
				c->selector >= c->boot))
		return c->selector;
	return CPU_HP_NO_EJECT;
}

/* From the selector on, wrapping: the first slot with an event. */
static void cpu_hp_next_event(struct cpu_hotplug *c)
{
	uint32_t i = c->selector, n;

	for (n = 0; n < c->ncpus; n++, i = (i + 1) % c->ncpus) {
		if (c->slots[i].inserting || c->slots[i].removing) {
			c->selector = i;
			return;
		}
	}
}

static void cpu_hp_write_cmd(struct cpu_hotplug *c, uint8_t cmd)
{
	if (cmd > CPU_HP_CMD_ARCH_ID)
		return;
	c->cmd = cmd;
	if (cmd == CPU_HP_CMD_NEXT_EVENT)
		cpu_hp_next_event(c);
}

/* COST writes the event, then the status: the status completes an _OST. */
static void cpu_hp_write_data(struct cpu_hotplug *c, uint32_t v)
{
	struct hp_slot *s = &c->slots[c->selector];

	if (c->cmd == CPU_HP_CMD_OST_EVENT) {
		s->ost_event = v;
	} else if (c->cmd == CPU_HP_CMD_OST_STATUS) {
		s->ost_status = v;
		s->ost_valid = true;
	}
}

/* Returns the CPU ejected by this write, or CPU_HP_NO_EJECT. */
static int cpu_hp_write(struct cpu_hotplug *c, uint64_t offset,
			const uint8_t *data, uint32_t len)
{
	int ejected = CPU_HP_NO_EJECT;

	if (offset == CPU_HP_SEL) {
		c->selector = hp_le(data, len);
		return ejected;
	}
	if (!cpu_hp_selected(c))
		return ejected;
	switch (offset) {
	case CPU_HP_FLAGS:
		ejected = cpu_hp_write_flags(c, data[0]);
		if (len >= 2)
			cpu_hp_write_cmd(c, data[1]);
		break;
	case CPU_HP_CMD:
		cpu_hp_write_cmd(c, data[0]);
		break;
	case CPU_HP_DATA:
		cpu_hp_write_data(c, hp_le(data, len));
		break;
	}
	return ejected;
}

void cpu_hotplug_io(void *opaque, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write)
{
	struct cpu_hotplug *c = opaque;
	int ejected;

	if (!is_write) {
		cpu_hp_read(c, offset, data, len);
		return;
	}
	if (len < 1 || len > 4)
		return;
	pthread_mutex_lock(&c->lock);
	ejected = cpu_hp_write(c, offset, data, len);
	pthread_mutex_unlock(&c->lock);
	/* Unlocked: the callback may wait for threads that use this device. */
	if (ejected != CPU_HP_NO_EJECT && c->eject)
		c->eject(c->opaque, ejected);
}

/* --- VMM thread ----------------------------------------------------------- */

/* present NULL: the boot CPUs only. */
void cpu_hotplug_reset(struct cpu_hotplug *c, const bool *present)
{
	unsigned int i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->ncpus; i++)
		c->slots[i] = (struct hp_slot){
			.enabled = present ? present[i] : i < c->boot,
		};
	c->selector = 0;
	c->cmd = CPU_HP_CMD_NEXT_EVENT;
	pthread_mutex_unlock(&c->lock);
}

/* An eject not yet taken also blocks a plug: the VMM must park it first. */
int cpu_hotplug_plug(struct cpu_hotplug *c, unsigned int cpu)
{
	int ret;

	if (cpu >= c->ncpus)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	ret = hp_slot_plug(&c->slots[cpu]);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int cpu_hotplug_request_remove(struct cpu_hotplug *c, unsigned int cpu)
{
	int ret;

	if (cpu >= c->ncpus || cpu < c->boot)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	ret = hp_slot_request_remove(&c->slots[cpu]);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

bool cpu_hotplug_take_ejected(struct cpu_hotplug *c, unsigned int cpu)
{
	bool ejected;

	if (cpu >= c->ncpus)
		return false;
	pthread_mutex_lock(&c->lock);
	ejected = hp_slot_take_ejected(&c->slots[cpu]);
	pthread_mutex_unlock(&c->lock);
	return ejected;
}

void cpu_hotplug_status(struct cpu_hotplug *c, unsigned int cpu,
			struct hp_slot *st)
{
	*st = (struct hp_slot){ 0 };
	if (cpu >= c->ncpus)
		return;
	pthread_mutex_lock(&c->lock);
	*st = c->slots[cpu];
	pthread_mutex_unlock(&c->lock);
}

/* --- AML ------------------------------------------------------------------ */

#define PRES(f)		"\\_SB.PRES." f

static struct aml *cpu_hp_lock(struct aml_ctx *ctx)
{
	return aml_acquire(ctx, aml_name(ctx, PRES("CPLK")), 0xffff);
}

static struct aml *cpu_hp_unlock(struct aml_ctx *ctx)
{
	return aml_release(ctx, aml_name(ctx, PRES("CPLK")));
}

static struct aml *cpu_hp_set(struct aml_ctx *ctx, const char *field,
			      struct aml *value)
{
	return aml_store(ctx, value, aml_name(ctx, field));
}

/* \_SB.PRES: the register block, its lock and its fields. */
static struct aml *cpu_hp_pres(struct aml_ctx *ctx, uint16_t base)
{
	struct aml *dev = aml_device(ctx, "\\_SB.PRES");
	struct aml *crs = aml_resource_template(ctx);
	struct aml *f;

	aml_append(dev, aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0A06")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_string(ctx,
						"CPU Hotplug resources")));
	aml_append(dev, aml_mutex(ctx, "CPLK", 0));
	aml_append(crs, aml_io(ctx, base, base, 1, CPU_HP_IO_SIZE));
	aml_append(dev, aml_name_decl(ctx, "_CRS", crs));
	aml_append(dev, aml_operation_region(ctx, "PRST", AML_SYSTEM_IO,
					     base, CPU_HP_IO_SIZE));
	/* WriteAsZeros: setting one bit never writes the others back. */
	f = aml_field(ctx, "PRST", AML_BYTE_ACC, AML_WRITE_AS_ZEROS);
	aml_append(f, aml_field_offset(ctx, CPU_HP_FLAGS));
	aml_append(f, aml_named_field(ctx, "CPEN", 1));
	aml_append(f, aml_named_field(ctx, "CINS", 1));
	aml_append(f, aml_named_field(ctx, "CRMV", 1));
	aml_append(f, aml_named_field(ctx, "CEJ0", 1));
	aml_append(f, aml_reserved_field(ctx, 4));
	aml_append(f, aml_named_field(ctx, "CCMD", 8));
	aml_append(dev, f);
	/* The same flags as one byte: a scan reads them once. */
	f = aml_field(ctx, "PRST", AML_BYTE_ACC, AML_PRESERVE);
	aml_append(f, aml_field_offset(ctx, CPU_HP_FLAGS));
	aml_append(f, aml_named_field(ctx, "CFLG", 8));
	aml_append(dev, f);
	f = aml_field(ctx, "PRST", AML_DWORD_ACC, AML_PRESERVE);
	aml_append(f, aml_named_field(ctx, "CSEL", 32));
	aml_append(f, aml_reserved_field(ctx, 32));
	aml_append(f, aml_named_field(ctx, "CDAT", 32));
	aml_append(dev, f);
	return dev;
}

/* CSTA(cpu): 0xF when enabled, else 0. */
static struct aml *cpu_hp_csta(struct aml_ctx *ctx)
{
	struct aml *m = aml_method(ctx, "CSTA", 1, 1), *iff;

	aml_append(m, cpu_hp_lock(ctx));
	aml_append(m, cpu_hp_set(ctx, PRES("CSEL"), aml_arg(ctx, 0)));
	aml_append(m, aml_store(ctx, aml_int(ctx, 0), aml_local(ctx, 0)));
	iff = aml_if(ctx, aml_lequal(ctx, aml_name(ctx, PRES("CPEN")),
				     aml_int(ctx, 1)));
	aml_append(iff, aml_store(ctx, aml_int(ctx, 0xf), aml_local(ctx, 0)));
	aml_append(m, iff);
	aml_append(m, cpu_hp_unlock(ctx));
	aml_append(m, aml_return(ctx, aml_local(ctx, 0)));
	return m;
}

/* CEJ0(cpu): the eject write. */
static struct aml *cpu_hp_cej0(struct aml_ctx *ctx)
{
	struct aml *m = aml_method(ctx, "CEJ0", 1, 1);

	aml_append(m, cpu_hp_lock(ctx));
	aml_append(m, cpu_hp_set(ctx, PRES("CSEL"), aml_arg(ctx, 0)));
	aml_append(m, cpu_hp_set(ctx, PRES("CEJ0"), aml_int(ctx, 1)));
	aml_append(m, cpu_hp_unlock(ctx));
	return m;
}

/* COST(cpu, event, status, buffer): _OST through commands 1 and 2. */
static struct aml *cpu_hp_cost(struct aml_ctx *ctx)
{
	struct aml *m = aml_method(ctx, "COST", 4, 1);

	aml_append(m, cpu_hp_lock(ctx));
	aml_append(m, cpu_hp_set(ctx, PRES("CSEL"), aml_arg(ctx, 0)));
	aml_append(m, cpu_hp_set(ctx, PRES("CCMD"),
				 aml_int(ctx, CPU_HP_CMD_OST_EVENT)));
	aml_append(m, cpu_hp_set(ctx, PRES("CDAT"), aml_arg(ctx, 1)));
	aml_append(m, cpu_hp_set(ctx, PRES("CCMD"),
				 aml_int(ctx, CPU_HP_CMD_OST_STATUS)));
	aml_append(m, cpu_hp_set(ctx, PRES("CDAT"), aml_arg(ctx, 2)));
	aml_append(m, cpu_hp_unlock(ctx));
	return m;
}

#define CPU_HP_NAME	"C%03X"

static void cpu_hp_name(char *name, unsigned int cpu)
{
	snprintf(name, 5, CPU_HP_NAME, cpu);
}

/* Cxxx: a processor device; _MAT is its MADT entry, always Enabled. */
static struct aml *cpu_hp_cpu(struct aml_ctx *ctx, unsigned int i,
			      bool ejectable, uint32_t apic_id)
{
	const uint8_t mat[8] = { 0, 8, i, apic_id, 1, 0, 0, 0 };
	struct aml *dev, *m;
	char name[5];

	cpu_hp_name(name, i);
	dev = aml_device(ctx, name);
	aml_append(dev, aml_name_decl(ctx, "_HID",
				      aml_string(ctx, "ACPI0007")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_int(ctx, i)));
	m = aml_method(ctx, "_STA", 0, 0);
	aml_append(m, aml_return(ctx, aml_call(ctx, "CSTA", 1,
					       aml_int(ctx, i))));
	aml_append(dev, m);
	aml_append(dev, aml_name_decl(ctx, "_MAT", aml_buffer(ctx, mat, 8)));
	if (ejectable) {
		m = aml_method(ctx, "_EJ0", 1, 0);
		aml_append(m, aml_call(ctx, "CEJ0", 1, aml_int(ctx, i)));
		aml_append(dev, m);
	}
	m = aml_method(ctx, "_OST", 3, 1);
	aml_append(m, aml_call(ctx, "COST", 4, aml_int(ctx, i), aml_arg(ctx, 0),
			       aml_arg(ctx, 1), aml_arg(ctx, 2)));
	aml_append(dev, m);
	return dev;
}

static struct aml *cpu_hp_cpus(struct aml_ctx *ctx, unsigned int ncpus,
			       unsigned int boot, const uint32_t *apic_ids)
{
	struct aml *dev = aml_device(ctx, "\\_SB.CPUS");
	unsigned int i;

	aml_append(dev, aml_name_decl(ctx, "_HID",
				      aml_string(ctx, "ACPI0010")));
	aml_append(dev, aml_name_decl(ctx, "_CID", aml_eisaid(ctx, "PNP0A05")));
	aml_append(dev, cpu_hp_csta(ctx));
	aml_append(dev, cpu_hp_cej0(ctx));
	aml_append(dev, cpu_hp_cost(ctx));
	aml_append(dev, hp_aml_notify(ctx, "CTFY", ncpus, CPU_HP_NAME));
	aml_append(dev, hp_aml_scan(ctx, "CSCN", ncpus, &(struct hp_aml_scan){
		.lock = PRES("CPLK"), .select = PRES("CSEL"),
		.flags = PRES("CFLG"), .insert = PRES("CINS"),
		.remove = PRES("CRMV"),
		.notify = "CTFY" }));
	for (i = 0; i < ncpus; i++)
		aml_append(dev, cpu_hp_cpu(ctx, i, i >= boot, apic_ids[i]));
	return dev;
}

/* NULL for a description the guest could not use (see cpu_hp_valid). */
struct aml *cpu_hotplug_aml(struct aml_ctx *ctx, uint16_t port,
			    unsigned int ncpus, unsigned int boot,
			    const uint32_t *apic_ids)
{
	struct aml *list;

	if (!cpu_hp_valid(ncpus, boot, apic_ids) ||
	    port > 0x10000 - CPU_HP_IO_SIZE)
		return NULL;
	list = aml_list(ctx);
	aml_append(list, cpu_hp_pres(ctx, port));
	aml_append(list, cpu_hp_cpus(ctx, ncpus, boot, apic_ids));
	return list;
}
