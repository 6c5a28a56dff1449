/*
 * ACPI HW-reduced power management registers (FADT SLEEP_CONTROL_REG,
 * SLEEP_STATUS_REG, RESET_REG): three bytes of port I/O. A guest writing
 * S5 to sleep control powers off; writing the reset value reboots.
 */
#ifndef EVMM_PM_H
#define EVMM_PM_H

#include <stdbool.h>
#include <stdint.h>

enum pm_event { PM_POWEROFF, PM_REBOOT };

typedef void (*pm_event_fn)(void *opaque, enum pm_event event);

struct pm {
	pm_event_fn event;
	void *opaque;
};

#define PM_SLP_EN	0x20
#define PM_SLP_TYP(v)	(((v) >> 2) & 7)
#define PM_S5		5	/* must match \_S5_ in the DSDT */
#define PM_WAK_STS	0x80

void pm_init(struct pm *pm, pm_event_fn event, void *opaque);
/* The bus handler: offsets PM_SLEEP_CONTROL, PM_SLEEP_STATUS, PM_RESET. */
void pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	   bool is_write);

#endif
