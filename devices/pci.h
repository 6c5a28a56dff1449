/*
 * PCI segment 0, bus 0: 32 slots of one function each, slot 0 a host
 * bridge. Configuration space through ports 0xCF8/0xCFC and through ECAM;
 * memory BARs that evmm places in two windows (below 4 GiB and above the
 * hotplug region) and the guest may move. Devices embed a struct pci_dev.
 */
#ifndef EVMM_PCI_H
#define EVMM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_SLOTS		32
#define PCI_CFG_SIZE		256	/* conventional; ECAM's rest reads 0 */
#define PCI_ECAM_FN_SIZE	4096
#define PCI_ECAM_SIZE		(PCI_SLOTS * 8 * PCI_ECAM_FN_SIZE)	/* bus 0 */
#define PCI_NUM_BARS		6
#define PCI_CF8_LEN		8	/* 0xCF8 address, 0xCFC-0xCFF data */

/* Configuration space offsets and bits used outside pci.c */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2C
#define PCI_CAP_PTR		0x34

/* pci_dev_add_bar() flags */
#define PCI_BAR_MEM64		(1u << 0)
#define PCI_BAR_PREFETCH	(1u << 1)

/* A BAR that does not decode (memory space off, or no such BAR). */
#define PCI_ADDR_NONE		UINT64_MAX

struct aml;
struct aml_ctx;
struct pci_bus;
struct pci_dev;

/* A BAR's or the windows' handler; offset from the BAR's start. */
typedef void (*pci_io_fn)(void *opaque, uint64_t offset, uint8_t *data,
			  uint32_t len, bool is_write);

struct pci_bar {
	uint64_t size;		/* 0: not implemented */
	unsigned int flags;
	pci_io_fn fn;
	void *opaque;
};

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits a written 1 clears */
	uint8_t init[PCI_CFG_SIZE];	/* what a reset puts back */
	struct pci_bar bars[PCI_NUM_BARS];
	uint64_t decoded[PCI_NUM_BARS];	/* address now, or PCI_ADDR_NONE */
	uint8_t cap_end;		/* where the next capability goes */
	uint8_t cap_last;		/* offset of the last one, 0: none */
	int slot;			/* -1 until pci_bus_add */
	/* All optional; called with the bus's lock held for writing. */
	void (*cfg_written)(struct pci_dev *d, unsigned int off,
			    unsigned int len);
	/* old or new PCI_ADDR_NONE: the BAR stops or starts decoding. */
	void (*bar_moved)(struct pci_dev *d, unsigned int bar, uint64_t old,
			  uint64_t new);
	void (*reset)(struct pci_dev *d);
	void *opaque;
};

struct pci_bus *pci_bus_new(uint64_t win32_base, uint64_t win32_size,
			    uint64_t win64_base, uint64_t win64_size);
void pci_bus_free(struct pci_bus *b);

/* Header type 0, no capabilities, no BARs; class is class:sub:progif. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint16_t subsys_vendor,
		  uint16_t subsys_id, uint8_t revision);
/*
 * A memory BAR of size bytes (a power of two, at least 4 KiB); a 64-bit
 * one takes bar and bar + 1. -EINVAL for a bad index, size or overlap.
 */
int pci_dev_add_bar(struct pci_dev *d, unsigned int bar, uint64_t size,
		    unsigned int flags, pci_io_fn fn, void *opaque);
/*
 * Copies a capability (cap[0] its ID, cap[1] overwritten with the next
 * pointer) into the list; returns its offset or -ENOSPC. Read-only until
 * pci_dev_set_wmask() says which bits the guest may write.
 */
int pci_dev_add_cap(struct pci_dev *d, const void *cap, unsigned int len);
void pci_dev_set_wmask(struct pci_dev *d, unsigned int off,
		       const uint8_t *mask, unsigned int len);

/*
 * Places d in slot (-1: the first free from 1), assigns every BAR a
 * naturally aligned address in its window, turns on memory decoding and
 * bus mastering, records that as the reset state. Returns the slot,
 * -EBUSY, -ENOSPC (no slot, no room in a window) or -EINVAL.
 */
int pci_bus_add(struct pci_bus *b, int slot, struct pci_dev *d);
/* Guest reboot: every function's configuration back to pci_bus_add's. */
void pci_bus_reset(struct pci_bus *b);

/* Where BAR bar decodes now, or PCI_ADDR_NONE. */
uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned int bar);
/* "0000:00:XX.0" into buf (at least 13 bytes). */
void pci_dev_bdf(const struct pci_dev *d, char *buf, unsigned int len);

/* Bus handlers: opaque is the bus for these two. */
void pci_cf8_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write);
void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write);
/*
 * The BAR windows' handler: register window i (0: 32-bit, 1: 64-bit) at
 * its base with pci_bus_window() as opaque. Unclaimed addresses read all
 * ones.
 */
void pci_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write);
void *pci_bus_window(struct pci_bus *b, unsigned int i, uint64_t *base,
		     uint64_t *size);

/*
 * \_SB.PC00, the host bridge (PNP0A08): bus 0, the 0xCF8 ports and the
 * two BAR windows in its _CRS; one Snnn device per slot 1..31 with _ADR
 * and _SUN, for hotplug to hang its methods on.
 */
struct aml *pci_aml(struct aml_ctx *ctx, struct pci_bus *b);

#endif
