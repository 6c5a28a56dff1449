/*
 * PCI segment 0, bus 0: 32 slots of one function each, slot 0 a host
 * bridge. Configuration space through ports 0xCF8/0xCFC and through ECAM;
 * memory BARs that evmm places in two windows (below 4 GiB and above the
 * hotplug region) and the guest may move. Devices embed a struct pci_dev.
 *
 * Locking: one rwlock per bus. Configuration writes, pci_bus_add/remove
 * and pci_bus_reset take it for writing; configuration reads and BAR
 * dispatch for reading. So a BAR handler never runs while its BAR moves,
 * but BAR handlers of one device can run on several vCPUs at once.
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
#define PCI_CAP_START		0x40

/* Configuration space offsets and bits used outside pci.c */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0E
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2C
#define PCI_SUBSYS_ID		0x2E
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

/*
 * A BAR's handler: offset from the BAR's start, len 1..8, the access
 * wholly inside the BAR. Runs on vCPU threads under the bus's read lock:
 * it must not call the pci_bus_* or configuration handlers.
 */
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
	uint64_t assigned[PCI_NUM_BARS]; /* evmm's placement */
	uint64_t decoded[PCI_NUM_BARS];	/* address now, or PCI_ADDR_NONE */
	unsigned int cap_end;		/* where the next capability goes */
	unsigned int cap_last;		/* offset of the last one, 0: none */
	int slot;			/* -1 when on no bus */
	/*
	 * All optional. Except cfg_read, called with the bus's lock held for
	 * writing, so they may read and change cfg but must not call pci_bus_*
	 * functions.
	 * cfg_written: after a guest write of len bytes at off landed (read
	 * only bits included; off + len <= PCI_CFG_SIZE).
	 */
	void (*cfg_written)(struct pci_dev *d, unsigned int off,
			    unsigned int len);
	/*
	 * cfg_read: after a guest read of len bytes at off (off + len <=
	 * PCI_CFG_SIZE) filled data from cfg; it may answer otherwise (a
	 * window onto a BAR). Runs under the bus's read lock, like a BAR
	 * handler: it must not change cfg.
	 */
	void (*cfg_read)(struct pci_dev *d, unsigned int off, uint8_t *data,
			 unsigned int len);
	/*
	 * BAR bar decodes at new instead of old; either is PCI_ADDR_NONE when
	 * it stops (memory space off, removal) or starts decoding. new is what
	 * the guest wrote, anywhere in the address space: only the part in a
	 * window reaches pci_bar_io.
	 */
	void (*bar_moved)(struct pci_dev *d, unsigned int bar, uint64_t old,
			  uint64_t new);
	/* pci_bus_reset: cfg is back to its initial state already. */
	void (*reset)(struct pci_dev *d);
	void *opaque;
};

/*
 * The bus with its host bridge (8086:0d57, class 06/00/00) in slot 0.
 * A window of size 0 is absent. NULL when out of memory.
 */
struct pci_bus *pci_bus_new(uint64_t win32_base, uint64_t win32_size,
			    uint64_t win64_base, uint64_t win64_size);
/* The devices stay their owners'. */
void pci_bus_free(struct pci_bus *b);

/* Header type 0, no capabilities, no BARs; class is class:sub:progif. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint16_t subsys_vendor,
		  uint16_t subsys_id, uint8_t revision);
/*
 * A memory BAR of size bytes (a power of two, at least 4 KiB, at most
 * 2 GiB unless 64-bit); a 64-bit one takes bar and bar + 1. Before
 * pci_bus_add. -EINVAL for a bad index, size or an index in use.
 */
int pci_dev_add_bar(struct pci_dev *d, unsigned int bar, uint64_t size,
		    unsigned int flags, pci_io_fn fn, void *opaque);
/*
 * Copies a capability (cap[0] its ID, cap[1] overwritten with the next
 * pointer) to the next dword from 0x40 and links it last; sets
 * Status.CapList. Returns its offset, -EINVAL (len < 2) or -ENOSPC.
 * Read-only until pci_dev_set_wmask() says which bits the guest may write.
 * Before pci_bus_add.
 */
int pci_dev_add_cap(struct pci_dev *d, const void *cap, unsigned int len);
/* The guest may write the bits set in mask[0..len) at off. -EINVAL. */
int pci_dev_set_wmask(struct pci_dev *d, unsigned int off,
		      const uint8_t *mask, unsigned int len);

/*
 * Places d in slot (-1: the first free from 1), assigns every BAR the
 * lowest naturally aligned free address in its window (a 64-bit BAR goes
 * in the 32-bit window only when the 64-bit one has no room), turns on
 * memory decoding and bus mastering, records that as the reset state;
 * bar_moved reports each BAR starting to decode. Returns the slot,
 * -EBUSY, -ENOSPC (no slot, no room in a window) or -EINVAL.
 */
int pci_bus_add(struct pci_bus *b, int slot, struct pci_dev *d);
/*
 * Takes d off the bus (its BARs stop decoding: bar_moved to
 * PCI_ADDR_NONE); its window space is free for the next pci_bus_add.
 */
void pci_bus_remove(struct pci_bus *b, struct pci_dev *d);
/*
 * Guest reboot: every function's configuration space back to what
 * pci_bus_add recorded (bar_moved where a BAR moves), then its reset().
 */
void pci_bus_reset(struct pci_bus *b);

/* Where BAR bar decodes now, or PCI_ADDR_NONE; any thread. */
uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned int bar);
/* The slot, -1 when on no bus. */
int pci_dev_slot(const struct pci_dev *d);
/* "0000:00:XX.0" into buf (PCI_BDF_LEN bytes). */
#define PCI_BDF_LEN		13
void pci_dev_bdf(const struct pci_dev *d, char *buf, unsigned int len);

/*
 * Configuration accesses, opaque the bus. Data accesses of 1, 2 or 4
 * bytes within one dword reach the function; one crossing a dword
 * boundary (or of another size) reads all ones and writes nothing, as do
 * absent functions (other buses, functions 1-7, empty slots). Offsets
 * 0x100-0xFFF of a present function read 0, writes ignored.
 * pci_cf8_io: 8 ports from 0xCF8. 0xCF8 is the address register (enable
 * bit 31, bus 23:16, slot 15:11, function 10:8, register 7:2) and takes
 * 32-bit accesses only; 0xCFC-0xCFF are the selected dword's bytes.
 * pci_ecam_io: bus 0's 1 MiB ECAM window (slot 19:15, function 14:12).
 */
void pci_cf8_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write);
void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write);
/*
 * The BAR windows' handler: register window i (0: 32-bit, 1: 64-bit) at
 * the base and size pci_bus_window() gives, with its return as opaque.
 * The access goes to the decoding BAR that holds all of it now; others
 * read all ones, writes dropped. pci_bus_window: NULL for a bad i.
 */
void pci_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write);
void *pci_bus_window(struct pci_bus *b, unsigned int i, uint64_t *base,
		     uint64_t *size);

/*
 * \_SB.PC00, the host bridge (PNP0A08, PNP0A03): bus 0, the 0xCF8 ports
 * and the two BAR windows in its _CRS; one Snnn device per slot 1..31
 * with _ADR and _SUN, for hotplug to hang its methods on.
 */
struct aml *pci_aml(struct aml_ctx *ctx, const struct pci_bus *b);

#endif
