/*
 * GSI routing, irqfds and ioeventfds. The routing table is kept whole in
 * evmm (KVM_SET_GSI_ROUTING takes all of it every time): KVM's default
 * pin routes first, then one MSI route per vector in use, in no order.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/irq.h"
#include "vmm/log.h"

#define IRQ_PIC_MASTER_PINS	8

static int irq_ioctl(struct irq *irq, int fd, unsigned long req, void *arg)
{
	int ret;

	if (irq->ioctl)
		return irq->ioctl(irq, req, arg);
	ret = ioctl(fd, req, arg);
	return ret < 0 ? -errno : ret;
}

/* KVM's own default: IOAPIC pin n for GSI n, and the PICs' for 0-15. */
static void irq_base_routes(struct irq *irq)
{
	struct kvm_irq_routing_entry *e = irq->table->entries;
	unsigned int i;

	memset(e, 0, IRQ_BASE_ROUTES * sizeof(*e));
	for (i = 0; i < IRQ_GSI_BASE; i++, e++) {
		e->gsi = i;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = i;
	}
	for (i = 0; i < IRQ_PIC_PINS; i++, e++) {
		e->gsi = i;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = i < IRQ_PIC_MASTER_PINS ?
			KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		e->u.irqchip.pin = i % IRQ_PIC_MASTER_PINS;
	}
	irq->table->nr = IRQ_BASE_ROUTES;
}

/* No VM, or a new one: no MSI route, no GSI in use. */
static void irq_forget(struct irq *irq)
{
	irq_base_routes(irq);
	memset(irq->used, 0, (irq->max_routes + 63) / 64 * 8);
	irq->gen++;
}

static int irq_probe(struct irq *irq, int kvm_fd)
{
	int n;

	if (irq_ioctl(irq, kvm_fd, KVM_CHECK_EXTENSION,
		      (void *)(long)KVM_CAP_IRQFD) <= 0 ||
	    irq_ioctl(irq, kvm_fd, KVM_CHECK_EXTENSION,
		      (void *)(long)KVM_CAP_IOEVENTFD) <= 0) {
		log_err("KVM lacks irqfds or ioeventfds");
		return -ENOTSUP;
	}
	n = irq_ioctl(irq, kvm_fd, KVM_CHECK_EXTENSION,
		      (void *)(long)KVM_CAP_IRQ_ROUTING);
	if (n <= IRQ_BASE_ROUTES) {
		log_err("KVM has no room for MSI routes (%d routes)", n);
		return -ENOTSUP;
	}
	irq->max_routes = n;
	irq->any_length = irq_ioctl(irq, kvm_fd, KVM_CHECK_EXTENSION,
			(void *)(long)KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	return 0;
}

int irq_init(struct irq *irq, int kvm_fd)
{
	int ret;

	irq->vm_fd = -1;
	irq->gen = 0;
	irq->table = NULL;
	irq->used = NULL;
	ret = irq_probe(irq, kvm_fd);
	if (ret)
		return ret;
	irq->table = calloc(1, sizeof(*irq->table) + irq->max_routes *
			    sizeof(irq->table->entries[0]));
	irq->used = calloc((irq->max_routes + 63) / 64, 8);
	if (!irq->table || !irq->used) {
		irq_free(irq);
		return -ENOMEM;
	}
	pthread_mutex_init(&irq->lock, NULL);
	irq_forget(irq);
	return 0;
}

void irq_free(struct irq *irq)
{
	if (irq->table && irq->used)
		pthread_mutex_destroy(&irq->lock);
	free(irq->table);
	free(irq->used);
	irq->table = NULL;
	irq->used = NULL;
}

void irq_vm_created(struct irq *irq, int vm_fd)
{
	if (!irq->table)
		return;
	pthread_mutex_lock(&irq->lock);
	irq_forget(irq);
	irq->vm_fd = vm_fd;
	pthread_mutex_unlock(&irq->lock);
}

void irq_vm_gone(struct irq *irq)
{
	if (!irq->table)
		return;	/* never initialised */
	pthread_mutex_lock(&irq->lock);
	irq_forget(irq);
	irq->vm_fd = -1;
	pthread_mutex_unlock(&irq->lock);
}

unsigned int irq_msi_count(struct irq *irq)
{
	unsigned int n;

	pthread_mutex_lock(&irq->lock);
	n = irq->table->nr - IRQ_BASE_ROUTES;
	pthread_mutex_unlock(&irq->lock);
	return n;
}

/* --- GSIs and the table, with the lock held ------------------------------- */

static int irq_gsi_alloc(struct irq *irq)
{
	unsigned int g;

	for (g = IRQ_GSI_BASE; g < irq->max_routes; g++) {
		if (!(irq->used[g / 64] & (1ULL << (g % 64)))) {
			irq->used[g / 64] |= 1ULL << (g % 64);
			return g;
		}
	}
	return -ENOSPC;
}

static void irq_gsi_free(struct irq *irq, unsigned int g)
{
	irq->used[g / 64] &= ~(1ULL << (g % 64));
}

static struct kvm_irq_routing_entry *irq_find(struct irq *irq, int gsi)
{
	struct kvm_irq_routing_entry *e = irq->table->entries;
	unsigned int i;

	for (i = IRQ_BASE_ROUTES; i < irq->table->nr; i++)
		if (e[i].gsi == (uint32_t)gsi)
			return &e[i];
	return NULL;
}

/* Takes e out of the table (the last entry moves into its place). */
static void irq_remove(struct irq *irq, struct kvm_irq_routing_entry *e)
{
	*e = irq->table->entries[--irq->table->nr];
}

static void irq_set_msi(struct kvm_irq_routing_entry *e, int gsi,
			uint64_t addr, uint32_t data)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = addr >> 32;
	e->u.msi.data = data;
}

static int irq_commit(struct irq *irq)
{
	return irq_ioctl(irq, irq->vm_fd, KVM_SET_GSI_ROUTING, irq->table);
}

static int irq_irqfd(struct irq *irq, int efd, int gsi, bool assign)
{
	struct kvm_irqfd f = {
		.fd = efd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return irq_ioctl(irq, irq->vm_fd, KVM_IRQFD, &f);
}

/* A vector that has a GSI in this VM: its route changes, or nothing does. */
static int irq_msi_update(struct irq *irq, struct irq_msi *v, uint64_t addr,
			  uint32_t data)
{
	struct kvm_irq_routing_entry *e = irq_find(irq, v->gsi), old;
	int ret;

	if (!e)
		return -EINVAL;	/* cannot happen: the GSI is ours */
	old = *e;
	irq_set_msi(e, v->gsi, addr, data);
	ret = irq_commit(irq);
	if (ret)
		*e = old;
	return ret;
}

/* A signal from before the irqfd existed would fire at once: drop it. */
static void irq_drain(int efd)
{
	uint64_t n;

	if (read(efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("irq: eventfd read: %s", strerror(errno));
}

static int irq_msi_assign(struct irq *irq, struct irq_msi *v, uint64_t addr,
			  uint32_t data)
{
	struct kvm_irq_routing_entry *e;
	int gsi = irq_gsi_alloc(irq), ret;

	if (gsi < 0)
		return gsi;
	ret = -ENOSPC;
	if (irq->table->nr >= irq->max_routes)
		goto err_gsi;
	e = &irq->table->entries[irq->table->nr++];
	irq_set_msi(e, gsi, addr, data);
	ret = irq_commit(irq);
	if (ret)
		goto err_route;
	irq_drain(v->efd);
	ret = irq_irqfd(irq, v->efd, gsi, true);
	if (ret)
		goto err_commit;
	v->gsi = gsi;
	v->gen = irq->gen;
	return 0;
err_commit:
	irq_remove(irq, e);
	if (irq_commit(irq))
		log_err("irq: GSI %d's route stays in KVM", gsi);
	goto err_gsi;
err_route:
	irq_remove(irq, e);
err_gsi:
	irq_gsi_free(irq, gsi);
	return ret;
}

static bool irq_msi_live(const struct irq *irq, const struct irq_msi *v)
{
	return v->gsi >= 0 && v->gen == irq->gen && irq->vm_fd >= 0;
}

int irq_msi_route(struct irq *irq, struct irq_msi *v, uint64_t addr,
		  uint32_t data)
{
	int ret;

	pthread_mutex_lock(&irq->lock);
	if (irq->vm_fd < 0)
		ret = -ENODEV;
	else if (irq_msi_live(irq, v))
		ret = irq_msi_update(irq, v, addr, data);
	else
		ret = irq_msi_assign(irq, v, addr, data);
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

void irq_msi_fire(const struct irq_msi *v)
{
	uint64_t one = 1;

	/* Fails only at a counter of 2^64 - 2: it is pending anyway. */
	if (write(v->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("irq: eventfd write: %s", strerror(errno));
}

int irq_msi_init(struct irq_msi *v)
{
	v->gsi = -1;
	v->gen = 0;
	v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return v->efd < 0 ? -errno : 0;
}

void irq_msi_release(struct irq *irq, struct irq_msi *v)
{
	struct kvm_irq_routing_entry *e;

	pthread_mutex_lock(&irq->lock);
	if (irq_msi_live(irq, v)) {
		if (irq_irqfd(irq, v->efd, v->gsi, false))
			log_err("irq: GSI %d's irqfd stays in KVM", v->gsi);
		e = irq_find(irq, v->gsi);
		if (e)
			irq_remove(irq, e);
		if (irq_commit(irq))
			log_err("irq: GSI %d's route stays in KVM", v->gsi);
		irq_gsi_free(irq, v->gsi);
	}
	v->gsi = -1;
	pthread_mutex_unlock(&irq->lock);
}

void irq_msi_close(struct irq *irq, struct irq_msi *v)
{
	if (v->efd < 0)
		return;
	irq_msi_release(irq, v);
	close(v->efd);
	v->efd = -1;
}

/* --- Doorbells ------------------------------------------------------------ */

uint32_t irq_ioeventfd_len(const struct irq *irq, uint32_t len)
{
	return irq->any_length ? 0 : len;
}

static bool irq_ioeventfd_ok(const struct irq *irq,
			     const struct irq_ioeventfd *e)
{
	switch (e->len) {
	case 0:
		return irq->any_length && !e->datamatch;
	case 1:
	case 2:
	case 4:
	case 8:
		return true;
	default:
		return false;
	}
}

static int irq_ioeventfd(struct irq *irq, const struct irq_ioeventfd *e,
			 bool add)
{
	struct kvm_ioeventfd k = {
		.datamatch = e->datamatch ? e->data : 0,
		.addr = e->addr,
		.len = e->len,
		.fd = e->fd,
		.flags = (e->datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (add ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	int ret;

	if (!irq_ioeventfd_ok(irq, e))
		return -EINVAL;
	pthread_mutex_lock(&irq->lock);
	if (irq->vm_fd < 0)
		ret = add ? -ENODEV : 0;
	else
		ret = irq_ioctl(irq, irq->vm_fd, KVM_IOEVENTFD, &k);
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

int irq_ioeventfd_add(struct irq *irq, const struct irq_ioeventfd *e)
{
	return irq_ioeventfd(irq, e, true);
}

int irq_ioeventfd_del(struct irq *irq, const struct irq_ioeventfd *e)
{
	return irq_ioeventfd(irq, e, false);
}
