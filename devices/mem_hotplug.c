/*
 * ACPI memory hotplug controller: QEMU's 24-byte register block
 * (acpi-hotplug-protocols.md §2) and the \_SB.MHPD + \_SB.MHPC AML.
 *
 * Guest writes, by offset (lengths other than 1..4 are ignored):
 *	0x00	the selector, zero-extended from the bytes written
 *	0x04	_OST event
 *	0x08	_OST status (completes an _OST)
 *	0x14	flags action (byte 0): clear insert, else clear remove, else eject
 * Anything else is ignored, and so is everything but the selector while
 * the selector is out of range. Reads see the block as 24 bytes and have
 * no side effects.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/hp_slot.h"
#include "devices/mem_hotplug.h"

#define MEM_HP_NO_EJECT		(-1)

struct mem_slot {
	struct hp_slot hp;
	uint64_t base, size;	/* kept while enabled or ejected */
};

struct mem_hotplug {
	pthread_mutex_t lock;
	unsigned int nslots;
	uint32_t selector;	/* guest-written: only an index when < nslots */
	mem_hp_eject_fn eject;
	void *opaque;
	struct mem_slot slots[];
};

struct mem_hotplug *mem_hotplug_new(unsigned int nslots, mem_hp_eject_fn eject,
				    void *opaque)
{
	struct mem_hotplug *h;

	if (!nslots || nslots > MEM_HP_MAX_SLOTS) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h) + nslots * sizeof(h->slots[0]));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->nslots = nslots;
	h->eject = eject;
	h->opaque = opaque;
	return h;
}

void mem_hotplug_free(struct mem_hotplug *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* --- Guest side (vCPU threads) -------------------------------------------- */

static struct mem_slot *mem_hp_selected(struct mem_hotplug *h)
{
	return h->selector < h->nslots ? &h->slots[h->selector] : NULL;
}

static void mem_hp_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/* The 24 bytes a read sees right now. */
static void mem_hp_regs(struct mem_hotplug *h, uint8_t *regs)
{
	struct mem_slot *s = mem_hp_selected(h);

	memset(regs, 0, MEM_HP_IO_SIZE);
	if (!s)
		return;
	mem_hp_put32(regs + MEM_HP_BASE_LO, s->base);
	mem_hp_put32(regs + MEM_HP_BASE_HI, s->base >> 32);
	mem_hp_put32(regs + MEM_HP_SIZE_LO, s->size);
	mem_hp_put32(regs + MEM_HP_SIZE_HI, s->size >> 32);
	regs[MEM_HP_FLAGS] = hp_slot_flags(&s->hp);
}

static void mem_hp_read(struct mem_hotplug *h, uint64_t offset,
			uint8_t *data, uint32_t len)
{
	uint8_t regs[MEM_HP_IO_SIZE];
	uint64_t n;

	memset(data, 0, len);
	if (offset >= MEM_HP_IO_SIZE)
		return;
	pthread_mutex_lock(&h->lock);
	mem_hp_regs(h, regs);
	pthread_mutex_unlock(&h->lock);
	n = MEM_HP_IO_SIZE - offset;
	memcpy(data, regs + offset, len < n ? len : n);
}

/* Returns the slot ejected by this write, or MEM_HP_NO_EJECT. */
static int mem_hp_write(struct mem_hotplug *h, uint64_t offset,
			const uint8_t *data, uint32_t len)
{
	struct mem_slot *s;

	if (offset == MEM_HP_BASE_LO) {
		h->selector = hp_le(data, len);
		return MEM_HP_NO_EJECT;
	}
	s = mem_hp_selected(h);
	if (!s)
		return MEM_HP_NO_EJECT;
	switch (offset) {
	case MEM_HP_BASE_HI:
		s->hp.ost_event = hp_le(data, len);
		break;
	case MEM_HP_SIZE_LO:
		s->hp.ost_status = hp_le(data, len);
		s->hp.ost_valid = true;
		break;
	case MEM_HP_FLAGS:
		if (hp_slot_write_flags(&s->hp, data[0], true))
			return h->selector;
		break;
	}
	return MEM_HP_NO_EJECT;
}

void mem_hotplug_io(void *opaque, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write)
{
	struct mem_hotplug *h = opaque;
	int ejected;

	if (!is_write) {
		mem_hp_read(h, offset, data, len);
		return;
	}
	if (len < 1 || len > 4)
		return;
	pthread_mutex_lock(&h->lock);
	ejected = mem_hp_write(h, offset, data, len);
	pthread_mutex_unlock(&h->lock);
	/* Unlocked: the callback may wait for threads that use this device. */
	if (ejected != MEM_HP_NO_EJECT && h->eject)
		h->eject(h->opaque, ejected);
}

/* --- VMM thread ----------------------------------------------------------- */

void mem_hotplug_reset(struct mem_hotplug *h, const uint64_t *base,
		       const uint64_t *size)
{
	unsigned int i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->nslots; i++) {
		bool on = base && size && size[i] &&
			  base[i] + size[i] > base[i];

		h->slots[i] = (struct mem_slot){
			.hp.enabled = on,
			.base = on ? base[i] : 0,
			.size = on ? size[i] : 0,
		};
	}
	h->selector = 0;
	pthread_mutex_unlock(&h->lock);
}

/* An eject not yet taken also blocks a plug: the VMM must unmap it first. */
int mem_hotplug_plug(struct mem_hotplug *h, unsigned int slot, uint64_t base,
		     uint64_t size)
{
	struct mem_slot *s;
	int ret;

	if (slot >= h->nslots || !size || base + size < base)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	s = &h->slots[slot];
	ret = hp_slot_plug(&s->hp);
	if (!ret) {
		s->base = base;
		s->size = size;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

int mem_hotplug_request_remove(struct mem_hotplug *h, unsigned int slot)
{
	int ret;

	if (slot >= h->nslots)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	ret = hp_slot_request_remove(&h->slots[slot].hp);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

bool mem_hotplug_take_ejected(struct mem_hotplug *h, unsigned int slot)
{
	bool ejected;

	if (slot >= h->nslots)
		return false;
	pthread_mutex_lock(&h->lock);
	ejected = hp_slot_take_ejected(&h->slots[slot].hp);
	pthread_mutex_unlock(&h->lock);
	return ejected;
}

void mem_hotplug_status(struct mem_hotplug *h, unsigned int slot,
			struct mem_hp_status *st)
{
	struct mem_slot s = { 0 };

	if (h && slot < h->nslots) {
		pthread_mutex_lock(&h->lock);
		s = h->slots[slot];
		pthread_mutex_unlock(&h->lock);
	}
	*st = (struct mem_hp_status){
		.base = s.hp.enabled || s.hp.ejected ? s.base : 0,
		.size = s.hp.enabled || s.hp.ejected ? s.size : 0,
		.enabled = s.hp.enabled,
		.inserting = s.hp.inserting,
		.remove_requested = s.hp.remove_requested,
		.removing = s.hp.removing,
		.ejected = s.hp.ejected,
		.ost_event = s.hp.ost_event,
		.ost_status = s.hp.ost_status,
		.ost_valid = s.hp.ost_valid,
	};
}

/* --- AML ------------------------------------------------------------------ */

#define MHPC(f)		"\\_SB.MHPC." f

static struct aml *mem_hp_lock(struct aml_ctx *ctx)
{
	return aml_acquire(ctx, aml_name(ctx, MHPC("MLCK")), 0xffff);
}

static struct aml *mem_hp_unlock(struct aml_ctx *ctx)
{
	return aml_release(ctx, aml_name(ctx, MHPC("MLCK")));
}

static struct aml *mem_hp_set(struct aml_ctx *ctx, const char *field,
			      struct aml *value)
{
	return aml_store(ctx, value, aml_name(ctx, field));
}

/* Lock, select slot Arg0: how every per-slot method starts. */
static struct aml *mem_hp_method(struct aml_ctx *ctx, const char *name,
				 unsigned int nargs)
{
	struct aml *m = aml_method(ctx, name, nargs, 1);

	aml_append(m, mem_hp_lock(ctx));
	aml_append(m, mem_hp_set(ctx, MHPC("MSEL"), aml_arg(ctx, 0)));
	return m;
}

/* \_SB.MHPD: the register block and its region. */
static struct aml *mem_hp_mhpd(struct aml_ctx *ctx, uint16_t base)
{
	struct aml *dev = aml_device(ctx, "\\_SB.MHPD");
	struct aml *crs = aml_resource_template(ctx);

	aml_append(dev, aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0A06")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_string(ctx,
						"Memory hotplug resources")));
	aml_append(crs, aml_io(ctx, base, base, 1, MEM_HP_IO_SIZE));
	aml_append(dev, aml_name_decl(ctx, "_CRS", crs));
	aml_append(dev, aml_operation_region(ctx, "HPMR", AML_SYSTEM_IO,
					     base, MEM_HP_IO_SIZE));
	return dev;
}

static void mem_hp_fields(struct aml_ctx *ctx, struct aml *dev)
{
	static const char *const rd[] = { "MRBL", "MRBH", "MRLL", "MRLH",
					  "MPX_" };
	static const char *const wr[] = { "MSEL", "MOEV", "MOSC" };
	struct aml *f;
	size_t i;

	f = aml_field(ctx, "\\_SB.MHPD.HPMR", AML_DWORD_ACC, AML_PRESERVE);
	for (i = 0; i < 5; i++)
		aml_append(f, aml_named_field(ctx, rd[i], 32));
	aml_append(dev, f);
	/* WriteAsZeros: setting one bit never writes the others back. */
	f = aml_field(ctx, "\\_SB.MHPD.HPMR", AML_BYTE_ACC, AML_WRITE_AS_ZEROS);
	aml_append(f, aml_field_offset(ctx, MEM_HP_FLAGS));
	aml_append(f, aml_named_field(ctx, "MES_", 1));
	aml_append(f, aml_named_field(ctx, "MINS", 1));
	aml_append(f, aml_named_field(ctx, "MRMV", 1));
	aml_append(f, aml_named_field(ctx, "MEJ_", 1));
	aml_append(dev, f);
	/* The same flags as one byte: a scan reads them once. */
	f = aml_field(ctx, "\\_SB.MHPD.HPMR", AML_BYTE_ACC, AML_PRESERVE);
	aml_append(f, aml_field_offset(ctx, MEM_HP_FLAGS));
	aml_append(f, aml_named_field(ctx, "MFLG", 8));
	aml_append(dev, f);
	f = aml_field(ctx, "\\_SB.MHPD.HPMR", AML_DWORD_ACC, AML_PRESERVE);
	for (i = 0; i < 3; i++)
		aml_append(f, aml_named_field(ctx, wr[i], 32));
	aml_append(dev, f);
}

/* MRST(slot): 0xF when enabled, else 0. */
static struct aml *mem_hp_mrst(struct aml_ctx *ctx)
{
	struct aml *m = mem_hp_method(ctx, "MRST", 1), *iff;

	aml_append(m, aml_store(ctx, aml_int(ctx, 0), aml_local(ctx, 0)));
	iff = aml_if(ctx, aml_lequal(ctx, aml_name(ctx, MHPC("MES_")),
				     aml_int(ctx, 1)));
	aml_append(iff, aml_store(ctx, aml_int(ctx, 0xf), aml_local(ctx, 0)));
	aml_append(m, iff);
	aml_append(m, mem_hp_unlock(ctx));
	aml_append(m, aml_return(ctx, aml_local(ctx, 0)));
	return m;
}

/* dst = (hi << 32) | lo: ACPI integers are 64-bit in a revision 2 DSDT. */
static struct aml *mem_hp_u64(struct aml_ctx *ctx, const char *lo,
			      const char *hi, const char *dst)
{
	return aml_or(ctx, aml_shiftleft(ctx, aml_name(ctx, hi),
					 aml_int(ctx, 32)),
		      aml_name(ctx, lo), aml_name(ctx, dst));
}

/* MCRS(slot): the slot's range as a QWordMemory descriptor. */
static struct aml *mem_hp_mcrs(struct aml_ctx *ctx)
{
	struct aml *m = mem_hp_method(ctx, "MCRS", 1), *crs;

	crs = aml_resource_template(ctx);
	aml_append(crs, aml_qword_memory(ctx, 0, 1));
	aml_append(m, aml_name_decl(ctx, "MR64", crs));
	/* Byte offsets of min, max and length in the QWord descriptor. */
	aml_append(m, aml_create_qword_field(ctx, aml_name(ctx, "MR64"),
					     aml_int(ctx, 14), "MIN_"));
	aml_append(m, aml_create_qword_field(ctx, aml_name(ctx, "MR64"),
					     aml_int(ctx, 22), "MAX_"));
	aml_append(m, aml_create_qword_field(ctx, aml_name(ctx, "MR64"),
					     aml_int(ctx, 38), "LEN_"));
	aml_append(m, mem_hp_u64(ctx, MHPC("MRBL"), MHPC("MRBH"), "MIN_"));
	aml_append(m, mem_hp_u64(ctx, MHPC("MRLL"), MHPC("MRLH"), "LEN_"));
	aml_append(m, aml_subtract(ctx, aml_add(ctx, aml_name(ctx, "MIN_"),
						aml_name(ctx, "LEN_"), NULL),
				   aml_int(ctx, 1), aml_name(ctx, "MAX_")));
	aml_append(m, mem_hp_unlock(ctx));
	aml_append(m, aml_return(ctx, aml_name(ctx, "MR64")));
	return m;
}

/* MOST(slot, event, status, buffer): _OST. */
static struct aml *mem_hp_most(struct aml_ctx *ctx)
{
	struct aml *m = mem_hp_method(ctx, "MOST", 4);

	aml_append(m, mem_hp_set(ctx, MHPC("MOEV"), aml_arg(ctx, 1)));
	aml_append(m, mem_hp_set(ctx, MHPC("MOSC"), aml_arg(ctx, 2)));
	aml_append(m, mem_hp_unlock(ctx));
	return m;
}

/* MEJ0(slot, arg): the eject write. */
static struct aml *mem_hp_mej0(struct aml_ctx *ctx)
{
	struct aml *m = mem_hp_method(ctx, "MEJ0", 2);

	aml_append(m, mem_hp_set(ctx, MHPC("MEJ_"), aml_int(ctx, 1)));
	aml_append(m, mem_hp_unlock(ctx));
	return m;
}

#define MEM_HP_NAME	"MP%02X"

/* MPxx: a memory device whose every method asks the controller. */
static struct aml *mem_hp_dimm(struct aml_ctx *ctx, unsigned int i)
{
	struct aml *dev, *m;
	char name[5];

	snprintf(name, sizeof(name), MEM_HP_NAME, i);
	dev = aml_device(ctx, name);
	aml_append(dev, aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0C80")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_int(ctx, i)));
	m = aml_method(ctx, "_STA", 0, 0);
	aml_append(m, aml_return(ctx, aml_call(ctx, MHPC("MRST"), 1,
					       aml_int(ctx, i))));
	aml_append(dev, m);
	m = aml_method(ctx, "_CRS", 0, 0);
	aml_append(m, aml_return(ctx, aml_call(ctx, MHPC("MCRS"), 1,
					       aml_int(ctx, i))));
	aml_append(dev, m);
	m = aml_method(ctx, "_OST", 3, 0);
	aml_append(m, aml_call(ctx, MHPC("MOST"), 4, aml_int(ctx, i),
			       aml_arg(ctx, 0), aml_arg(ctx, 1),
			       aml_arg(ctx, 2)));
	aml_append(dev, m);
	m = aml_method(ctx, "_EJ0", 1, 0);
	aml_append(m, aml_call(ctx, MHPC("MEJ0"), 2, aml_int(ctx, i),
			       aml_arg(ctx, 0)));
	aml_append(dev, m);
	return dev;
}

static struct aml *mem_hp_mhpc(struct aml_ctx *ctx, unsigned int nslots)
{
	struct aml *dev = aml_device(ctx, "\\_SB.MHPC");
	unsigned int i;

	aml_append(dev, aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0A06")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_string(ctx,
						"DIMM devices")));
	aml_append(dev, aml_name_decl(ctx, "MDNR", aml_int(ctx, nslots)));
	aml_append(dev, aml_mutex(ctx, "MLCK", 0));
	mem_hp_fields(ctx, dev);
	aml_append(dev, mem_hp_mrst(ctx));
	aml_append(dev, mem_hp_mcrs(ctx));
	aml_append(dev, mem_hp_most(ctx));
	aml_append(dev, mem_hp_mej0(ctx));
	aml_append(dev, hp_aml_notify(ctx, "MTFY", nslots, MEM_HP_NAME));
	aml_append(dev, hp_aml_scan(ctx, "MSCN", nslots, &(struct hp_aml_scan){
		.lock = MHPC("MLCK"), .select = MHPC("MSEL"),
		.flags = MHPC("MFLG"), .insert = MHPC("MINS"),
		.remove = MHPC("MRMV"),
		.notify = MHPC("MTFY") }));
	for (i = 0; i < nslots; i++)
		aml_append(dev, mem_hp_dimm(ctx, i));
	return dev;
}

struct aml *mem_hotplug_aml(struct aml_ctx *ctx, uint16_t port,
			    unsigned int nslots)
{
	struct aml *list;

	if (!nslots || nslots > MEM_HP_MAX_SLOTS ||
	    port > 0x10000 - MEM_HP_IO_SIZE)
		return NULL;
	list = aml_list(ctx);
	aml_append(list, mem_hp_mhpd(ctx, port));
	aml_append(list, mem_hp_mhpc(ctx, nslots));
	return list;
}
