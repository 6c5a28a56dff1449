/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2) for a function that embeds a struct
 * pci_dev: the capability in its configuration space, the vector table and
 * the pending bit array (PBA) in one of its BARs, and delivery. Knows
 * nothing of KVM: the owner's ops point a vector at its message (for KVM: a
 * GSI with an MSI route and an irqfd) and fire it.
 *
 * A vector can fire when MSI-X is enabled, the function is not masked and
 * the vector is not masked. msix_signal fires such a vector; a masked one
 * gets its pending bit instead, and fires when it is unmasked. Before a
 * vector fires with a message for the first time (new address or data, or
 * the first use after a reset), ops->route gets that message.
 *
 * Locking: one mutex per msix over the table, the PBA and the enable and
 * mask bits, so that table writes (vCPU threads, several at once),
 * capability writes (vCPU threads, under the bus's write lock) and
 * msix_signal (device threads) may race. The ops run with it held: they
 * must not call this msix back.
 */
#ifndef EVMM_MSIX_H
#define EVMM_MSIX_H

#include <stdbool.h>
#include <stdint.h>

struct pci_dev;
struct msix;

#define MSIX_CAP_ID		0x11
#define MSIX_CAP_LEN		12
#define MSIX_MAX_VECTORS	2048
#define MSIX_ENTRY_SIZE		16
/* Message control, at the capability's offset + 2. */
#define MSIX_CTRL_SIZE_MASK	0x07FF
#define MSIX_CTRL_FMASK		0x4000
#define MSIX_CTRL_ENABLE	0x8000
/* A table entry's fields, and the vector control's mask bit. */
#define MSIX_ENTRY_ADDR_LO	0
#define MSIX_ENTRY_ADDR_HI	4
#define MSIX_ENTRY_DATA		8
#define MSIX_ENTRY_CTRL		12
#define MSIX_ENTRY_MASKED	1u

struct msix_ops {
	/* Deliver vector's message: only after route accepted it. */
	void (*fire)(void *opaque, unsigned int vector);
	/*
	 * vector is about to fire with a message it has not been routed to:
	 * make it deliver (addr, data). 0, or a negative errno: the vector
	 * then stays pending until its next change or unmask tries again.
	 */
	int (*route)(void *opaque, unsigned int vector, uint64_t addr,
		     uint32_t data);
};

/* Bytes of the table and of the PBA for nvec vectors. */
static inline uint32_t msix_table_size(unsigned int nvec)
{
	return nvec * MSIX_ENTRY_SIZE;
}

static inline uint32_t msix_pba_size(unsigned int nvec)
{
	return (nvec + 63) / 64 * 8;
}

/*
 * Adds the capability to d (before pci_bus_add, after BAR bar exists):
 * nvec vectors (1..MSIX_MAX_VECTORS), the table at table_off and the PBA
 * at pba_off in BAR bar, both 8-byte aligned, inside the BAR and apart.
 * The guest may write the enable and function mask bits only. The owner
 * sends BAR accesses to msix_table_io/msix_pba_io and forwards its
 * cfg_written and reset callbacks. 0, -EINVAL, -ENOSPC (no room for the
 * capability) or -ENOMEM.
 */
int msix_new(struct msix **out, struct pci_dev *d, unsigned int nvec,
	     unsigned int bar, uint32_t table_off, uint32_t pba_off,
	     const struct msix_ops *ops, void *opaque);
void msix_free(struct msix *m);

/*
 * The table and the PBA as BAR regions (pci_io_fn, opaque the msix),
 * offset from the region's start: any access of 1 to 8 bytes wholly
 * inside reaches it, others read all ones and write nothing. Writes keep
 * reserved bits 0 (the address's low 2 bits, the vector control's upper
 * 31); the PBA is read-only.
 */
void msix_table_io(void *opaque, uint64_t offset, uint8_t *data,
		   uint32_t len, bool is_write);
void msix_pba_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write);
/* The owner's cfg_written: picks up enable and function mask changes. */
void msix_cfg_written(struct msix *m, unsigned int off, unsigned int len);
/*
 * The owner's reset (configuration space already back): MSI-X disabled,
 * every vector masked with address and data 0, nothing pending, nothing
 * routed (the next VM has no routes).
 */
void msix_reset(struct msix *m);

/*
 * Any thread: fire vector, or set its pending bit while it is masked (or
 * its route failed). Dropped while MSI-X is disabled (the function would
 * use INTx, which evmm has not). 0, or -EINVAL for a vector past the table.
 */
int msix_signal(struct msix *m, unsigned int vector);
/* Whether the guest turned MSI-X on (and the function can use it). */
bool msix_enabled(struct msix *m);
unsigned int msix_vectors(const struct msix *m);
/* Configuration space offset of the capability. */
unsigned int msix_cap_offset(const struct msix *m);

#endif
