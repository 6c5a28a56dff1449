/*
 * ACPI Generic Event Device: a read-to-clear event word at MMIO offset 0,
 * an edge interrupt, and the \_SB.GED_ AML whose _EVT dispatches the bits.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/ged.h"

struct ged {
	pthread_mutex_t lock;
	uint32_t events;	/* raised, not yet read by the guest */
	ged_irq_fn irq;
	void *opaque;
};

struct ged *ged_new(ged_irq_fn irq, void *opaque)
{
	struct ged *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->irq = irq;
	g->opaque = opaque;
	return g;
}

void ged_free(struct ged *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void ged_reset(struct ged *g)
{
	pthread_mutex_lock(&g->lock);
	g->events = 0;
	pthread_mutex_unlock(&g->lock);
}

/* Edges coalesce in the guest: the word keeps every event until read. */
void ged_raise(struct ged *g, uint32_t events)
{
	pthread_mutex_lock(&g->lock);
	g->events |= events;
	pthread_mutex_unlock(&g->lock);
	if (g->irq)
		g->irq(g->opaque);
}

static uint32_t ged_take(struct ged *g)
{
	uint32_t events;

	pthread_mutex_lock(&g->lock);
	events = g->events;
	g->events = 0;
	pthread_mutex_unlock(&g->lock);
	return events;
}

void ged_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	    bool is_write)
{
	uint32_t events, i;

	if (is_write)
		return;
	memset(data, 0, len);
	/* Only a read that fits the word takes (and clears) the events. */
	if (offset != 0 || len < 1 || len > GED_MMIO_SIZE)
		return;
	events = ged_take(opaque);
	for (i = 0; i < len; i++)
		data[i] = events >> (8 * i);
}

static struct aml *ged_if_bit(struct aml_ctx *ctx, uint32_t bit)
{
	struct aml *bits = aml_and(ctx, aml_local(ctx, 0), aml_int(ctx, bit),
				   NULL);

	return aml_if(ctx, aml_lequal(ctx, bits, aml_int(ctx, bit)));
}

/* _EVT: one read of ESEL (it clears the word), then one If per event. */
static struct aml *ged_evt(struct aml_ctx *ctx, uint32_t events)
{
	struct aml *m = aml_method(ctx, "_EVT", 1, 1), *iff;

	aml_append(m, aml_store(ctx, aml_name(ctx, "ESEL"), aml_local(ctx, 0)));
	if (events & GED_CPU_HOTPLUG) {
		iff = ged_if_bit(ctx, GED_CPU_HOTPLUG);
		aml_append(iff, aml_call(ctx, "\\_SB.CPUS.CSCN", 0));
		aml_append(m, iff);
	}
	if (events & GED_MEM_HOTPLUG) {
		iff = ged_if_bit(ctx, GED_MEM_HOTPLUG);
		aml_append(iff, aml_call(ctx, "\\_SB.MHPC.MSCN", 0));
		aml_append(m, iff);
	}
	if (events & GED_POWER_BUTTON) {
		iff = ged_if_bit(ctx, GED_POWER_BUTTON);
		aml_append(iff, aml_notify(ctx, aml_name(ctx, "\\_SB.PWRB"),
					   aml_int(ctx, 0x80)));
		aml_append(m, iff);
	}
	return m;
}

static struct aml *ged_device(struct aml_ctx *ctx, uint64_t mmio_base,
			      uint32_t gsi, uint32_t events)
{
	struct aml *dev = aml_device(ctx, "\\_SB.GED_");
	struct aml *crs = aml_resource_template(ctx);
	struct aml *f;

	aml_append(dev, aml_name_decl(ctx, "_HID",
				      aml_string(ctx, "ACPI0013")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_int(ctx, 0)));
	aml_append(crs, aml_interrupt(ctx, gsi, 0, 0));
	aml_append(dev, aml_name_decl(ctx, "_CRS", crs));
	aml_append(dev, aml_operation_region(ctx, "EREG", AML_SYSTEM_MEMORY,
					     mmio_base, GED_MMIO_SIZE));
	f = aml_field(ctx, "EREG", AML_DWORD_ACC, AML_WRITE_AS_ZEROS);
	aml_append(f, aml_named_field(ctx, "ESEL", 32));
	aml_append(dev, f);
	aml_append(dev, ged_evt(ctx, events));
	return dev;
}

static struct aml *ged_power_button(struct aml_ctx *ctx)
{
	struct aml *dev = aml_device(ctx, "\\_SB.PWRB");

	aml_append(dev, aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0C0C")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_int(ctx, 0)));
	return dev;
}

struct aml *ged_aml(struct aml_ctx *ctx, uint64_t mmio_base, uint32_t gsi,
		    uint32_t events)
{
	struct aml *list = aml_list(ctx);

	aml_append(list, ged_device(ctx, mmio_base, gsi, events));
	if (events & GED_POWER_BUTTON)
		aml_append(list, ged_power_button(ctx));
	return list;
}
