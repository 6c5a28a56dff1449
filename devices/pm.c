#include <string.h>

#include "devices/pm.h"
#include "vmm/layout.h"

void pm_init(struct pm *pm, pm_event_fn event, void *opaque)
{
	pm->event = event;
	pm->opaque = opaque;
}

void pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	   bool is_write)
{
	struct pm *pm = opaque;

	if (!is_write) {
		/*
		 * Sleep status: Linux spins until WAK_STS after writing S5; we
		 * never get there, but a guest polling it must not hang.
		 */
		memset(data, 0, len);
		if (offset == PM_SLEEP_STATUS && len)
			data[0] = PM_WAK_STS;
		return;
	}
	if (len != 1)
		return;
	if (offset == PM_SLEEP_CONTROL && (data[0] & PM_SLP_EN) &&
	    PM_SLP_TYP(data[0]) == PM_S5)
		pm->event(pm->opaque, PM_POWEROFF);
	else if (offset == PM_RESET && data[0] == PM_RESET_VALUE)
		pm->event(pm->opaque, PM_REBOOT);
}
