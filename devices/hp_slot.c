/* The hotplug slot state machine and scan AML (see hp_slot.h). */
#include <errno.h>
#include <stdio.h>

#include "acpi/aml.h"
#include "devices/hp_slot.h"

uint8_t hp_slot_flags(const struct hp_slot *s)
{
	return (s->enabled ? HP_F_ENABLED : 0) |
	       (s->inserting ? HP_F_INSERT : 0) |
	       (s->removing ? HP_F_REMOVE : 0);
}

bool hp_slot_write_flags(struct hp_slot *s, uint8_t v, bool ejectable)
{
	if (v & HP_F_INSERT) {
		s->inserting = false;
	} else if (v & HP_F_REMOVE) {
		s->removing = false;
	} else if ((v & HP_F_EJECT) && ejectable && s->enabled &&
		   s->remove_requested) {
		s->enabled = s->inserting = false;
		s->remove_requested = s->removing = false;
		s->ejected = true;
		return true;
	}
	return false;
}

int hp_slot_plug(struct hp_slot *s)
{
	if (s->enabled || s->ejected)
		return -EINVAL;
	*s = (struct hp_slot){ .enabled = true, .inserting = true };
	return 0;
}

int hp_slot_request_remove(struct hp_slot *s)
{
	if (!s->enabled || s->remove_requested)
		return -EINVAL;
	s->remove_requested = s->removing = true;
	s->ost_valid = false;
	return 0;
}

bool hp_slot_take_ejected(struct hp_slot *s)
{
	bool ejected = s->ejected;

	s->ejected = false;
	return ejected;
}

uint32_t hp_le(const uint8_t *data, uint32_t len)
{
	uint32_t v = 0;

	while (len--)
		v = v << 8 | data[len];
	return v;
}

/* --- AML ------------------------------------------------------------------ */

struct aml *hp_aml_notify(struct aml_ctx *ctx, const char *name,
			  unsigned int nslots, const char *fmt)
{
	struct aml *m = aml_method(ctx, name, 2, 0), *iff;
	unsigned int i;
	char dev[5];

	for (i = 0; i < nslots; i++) {
		snprintf(dev, sizeof(dev), fmt, i);
		iff = aml_if(ctx, aml_lequal(ctx, aml_arg(ctx, 0),
					     aml_int(ctx, i)));
		aml_append(iff, aml_notify(ctx, aml_name(ctx, dev),
					   aml_arg(ctx, 1)));
		aml_append(m, iff);
	}
	return m;
}

/* If (Local1 & bit) { notify (Local0, value); field = One } */
static struct aml *hp_aml_event(struct aml_ctx *ctx, unsigned int bit,
				const char *field, const char *notify,
				unsigned int value)
{
	struct aml *iff = aml_if(ctx, aml_and(ctx, aml_local(ctx, 1),
					      aml_int(ctx, bit), NULL));

	aml_append(iff, aml_call(ctx, notify, 2, aml_local(ctx, 0),
				 aml_int(ctx, value)));
	aml_append(iff, aml_store(ctx, aml_int(ctx, 1), aml_name(ctx, field)));
	return iff;
}

struct aml *hp_aml_scan(struct aml_ctx *ctx, const char *name,
			unsigned int nslots, const struct hp_aml_scan *n)
{
	struct aml *m = aml_method(ctx, name, 0, 1);
	struct aml *loop, *els;

	aml_append(m, aml_acquire(ctx, aml_name(ctx, n->lock), 0xffff));
	aml_append(m, aml_store(ctx, aml_int(ctx, 0), aml_local(ctx, 0)));
	loop = aml_while(ctx, aml_lless(ctx, aml_local(ctx, 0),
					aml_int(ctx, nslots)));
	aml_append(loop, aml_store(ctx, aml_local(ctx, 0),
				   aml_name(ctx, n->select)));
	aml_append(loop, aml_store(ctx, aml_name(ctx, n->flags),
				   aml_local(ctx, 1)));
	aml_append(loop, hp_aml_event(ctx, HP_F_INSERT, n->insert, n->notify,
				      1));
	els = aml_else(ctx);
	aml_append(els, hp_aml_event(ctx, HP_F_REMOVE, n->remove, n->notify,
				     3));
	aml_append(loop, els);
	aml_append(loop, aml_increment(ctx, aml_local(ctx, 0)));
	aml_append(m, loop);
	aml_append(m, aml_release(ctx, aml_name(ctx, n->lock)));
	aml_append(m, aml_return(ctx, aml_int(ctx, 1)));
	return m;
}
