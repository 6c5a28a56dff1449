/*
 * PCI devices' interrupts and doorbells in the KVM VM. Each MSI-X vector
 * the guest programs becomes a GSI (from IRQ_GSI_BASE up) with an MSI
 * route and an irqfd on the vector's eventfd; each virtqueue's notify
 * address an ioeventfd. The VMM gives devices ops that call these.
 *
 * Threads: vCPU threads route vectors and add or drop ioeventfds (the
 * guest writes an MSI-X table, enables or resets a queue), the VMM thread
 * drops ioeventfds at a reboot's PCI reset. One mutex serializes them,
 * since KVM_SET_GSI_ROUTING replaces the whole table. irq_msi_fire takes
 * no lock: device threads call it for every interrupt.
 *
 * Reboot: the next KVM VM has no routes, irqfds or ioeventfds, and
 * nothing is replayed. irq_vm_gone forgets them all at once (the VM's
 * close drops them in KVM); a vector whose GSI is an older VM's gets a new
 * one when the guest programs it again.
 */
#ifndef EVMM_IRQ_H
#define EVMM_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* The IOAPIC's 24 pins keep GSIs 0-23 (0-15 on the PICs too, as KVM's). */
#define IRQ_GSI_BASE		24
#define IRQ_PIC_PINS		16
#define IRQ_BASE_ROUTES		(IRQ_GSI_BASE + IRQ_PIC_PINS)

struct kvm_irq_routing;

/* One MSI vector. */
struct irq_msi {
	int efd;		/* what irq_msi_fire writes; -1: none */
	int gsi;		/* -1: none in the VM of generation gen */
	unsigned int gen;
};

struct irq {
	pthread_mutex_t lock;
	int vm_fd;			/* -1: no KVM VM */
	unsigned int gen;		/* one per KVM VM */
	unsigned int max_routes;	/* KVM_CAP_IRQ_ROUTING: GSIs below it */
	bool any_length;		/* KVM_CAP_IOEVENTFD_ANY_LENGTH */
	struct kvm_irq_routing *table;	/* the pins, then one route per MSI */
	uint64_t *used;			/* GSI bitmap */
	/*
	 * Tests only (NULL otherwise): called instead of ioctl(2) on the
	 * /dev/kvm or VM fd; returns 0 (or the ioctl's value) or -errno.
	 * Set it before irq_init, which keeps it.
	 */
	int (*ioctl)(struct irq *irq, unsigned long req, void *arg);
};

/*
 * Probes /dev/kvm: -ENOTSUP without GSI routing, irqfds or ioeventfds,
 * or with fewer routes than the pins and one MSI need; -ENOMEM.
 */
int irq_init(struct irq *irq, int kvm_fd);
void irq_free(struct irq *irq);
/* vm_create / vm_destroy: the KVM VM's fd, or none (every route gone). */
void irq_vm_created(struct irq *irq, int vm_fd);
void irq_vm_gone(struct irq *irq);
/* How many MSI routes are in the table now (tests, vm.info). */
unsigned int irq_msi_count(struct irq *irq);

/* A vector's eventfd (non-blocking); no GSI yet. 0 or -errno. */
int irq_msi_init(struct irq_msi *v);
/*
 * Points v at the message (addr, data): on first use in this VM a free
 * GSI, its MSI route and an irqfd on v->efd (signals v got while it had no
 * irqfd are dropped); else its route is updated. 0, or -ENODEV (no VM),
 * -ENOSPC (no GSI left) or KVM's error, with nothing changed.
 */
int irq_msi_route(struct irq *irq, struct irq_msi *v, uint64_t addr,
		  uint32_t data);
/* Any thread: raises the vector (once routed; else it waits, see above). */
void irq_msi_fire(const struct irq_msi *v);
/* Drops v's irqfd, route and GSI in this VM, if any; v stays usable. */
void irq_msi_release(struct irq *irq, struct irq_msi *v);
/* irq_msi_release, and closes the eventfd. */
void irq_msi_close(struct irq *irq, struct irq_msi *v);

/*
 * An MMIO doorbell: a guest write of len bytes (1, 2, 4, 8; 0: any length,
 * only if irq->any_length and without datamatch) at addr, with the value
 * data if datamatch, signals fd instead of exiting to evmm.
 */
struct irq_ioeventfd {
	uint64_t addr;
	uint64_t data;
	uint32_t len;
	bool datamatch;
	int fd;
};

/* 0 for any length when KVM can, else len. */
uint32_t irq_ioeventfd_len(const struct irq *irq, uint32_t len);
/*
 * 0, -EINVAL (bad length), -ENODEV (no VM), or KVM's error (-EEXIST for
 * the same doorbell twice). del with no VM is 0: it has none.
 */
int irq_ioeventfd_add(struct irq *irq, const struct irq_ioeventfd *e);
int irq_ioeventfd_del(struct irq *irq, const struct irq_ioeventfd *e);

#endif
