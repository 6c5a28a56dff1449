#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "acpi/aml.h"
#include "acpi/tables.h"
#include "devices/cpu_hotplug.h"
#include "devices/ged.h"
#include "devices/mem_hotplug.h"
#include "devices/pci.h"
#include "devices/serial.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/disk.h"
#include "vmm/hotplug.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/tap.h"
#include "vmm/vcpu.h"
#include "vmm/vdev.h"

static void machine_serial_irq(void *opaque, int level)
{
	struct machine *m = opaque;

	vm_irq_line(&m->vm, GSI_COM1, level);
}

static void machine_pm_event(void *opaque, enum pm_event event)
{
	struct machine *m = opaque;

	vm_request(&m->vm, event == PM_POWEROFF ? VM_REQ_POWEROFF :
						  VM_REQ_REBOOT);
}

/* An edge: the GED's _CRS says Edge, ActiveHigh. */
static void machine_ged_irq(void *opaque)
{
	struct machine *m = opaque;

	vm_irq_line(&m->vm, GSI_GED, 1);
	vm_irq_line(&m->vm, GSI_GED, 0);
}

/*
 * On the ejecting vCPU's thread: the VMM thread parks the vCPU or unmaps
 * the RAM (hotplug_reap).
 */
static void machine_ejected(void *opaque, unsigned int what)
{
	struct machine *m = opaque;
	uint64_t one = 1;

	(void)what;
	if (write(m->eject_fd, &one, sizeof(one)) < 0)
		log_err("cannot wake the VMM thread: %s", strerror(errno));
}

/* Only with a hotplug region: no slots, no controller, no AML. */
static int machine_add_mem_hotplug(struct machine *m)
{
	m->mem_requested = m->cfg->mem_size;
	m->mem_slots = hotplug_mem_slots(m->cfg->hotplug_size,
					 m->vm.nr_memslots);
	if (!m->mem_slots)
		return 0;
	m->mem_hp = mem_hotplug_new(m->mem_slots, machine_ejected, m);
	if (!m->mem_hp)
		return -ENOMEM;
	return bus_register(&m->vm.pio, PORT_MEM_HP, MEM_HP_IO_SIZE,
			    mem_hotplug_io, m->mem_hp);
}

static int machine_add_hotplug(struct machine *m)
{
	uint32_t apic_ids[CONFIG_MAX_VCPUS];
	unsigned int i;
	int ret;

	for (i = 0; i < m->cfg->max_vcpus; i++)
		apic_ids[i] = vcpu_apic_id(i);
	m->ged = ged_new(machine_ged_irq, m);
	m->cpu_hp = cpu_hotplug_new(m->cfg->max_vcpus, m->cfg->boot_vcpus,
				    apic_ids, machine_ejected, m);
	if (!m->ged || !m->cpu_hp)
		return -ENOMEM;
	ret = bus_register(&m->vm.mmio, LAYOUT_GED, GED_MMIO_SIZE, ged_io,
			   m->ged);
	if (!ret)
		ret = bus_register(&m->vm.pio, PORT_CPU_HP, CPU_HP_IO_SIZE,
				   cpu_hotplug_io, m->cpu_hp);
	return ret ? ret : machine_add_mem_hotplug(m);
}

/*
 * The 64-bit BAR window: from the hotplug region's end, 1 GiB aligned, up
 * to 64 GiB or the guest's physical address width (none if no room).
 */
static void machine_pci_win64(const struct machine *m, uint64_t *base,
			      uint64_t *size)
{
	uint64_t end = config_hotplug_base(m->cfg->mem_size) +
		       m->cfg->hotplug_size;
	uint64_t limit = m->vm.phys_bits < 64 ? 1ULL << m->vm.phys_bits :
			 UINT64_MAX;

	*base = ALIGN_UP(end, LAYOUT_PCI_WIN64_ALIGN);
	*size = *base < limit ? MIN(limit - *base, LAYOUT_PCI_WIN64_MAX) : 0;
}

_Static_assert(PCI_ECAM_SIZE == LAYOUT_PCI_ECAM_SIZE, "ECAM of bus 0");

static int machine_add_pci(struct machine *m)
{
	uint64_t base, size;
	void *win;
	int ret;

	machine_pci_win64(m, &base, &size);
	m->pci = pci_bus_new(LAYOUT_PCI_WIN32, LAYOUT_PCI_WIN32_SIZE, base,
			     size);
	if (!m->pci)
		return -ENOMEM;
	ret = bus_register(&m->vm.pio, PORT_PCI_CF8, PCI_CF8_LEN, pci_cf8_io,
			   m->pci);
	if (!ret)
		ret = bus_register(&m->vm.mmio, LAYOUT_PCI_ECAM,
				   LAYOUT_PCI_ECAM_SIZE, pci_ecam_io, m->pci);
	for (unsigned int i = 0; !ret && i < 2; i++) {
		win = pci_bus_window(m->pci, i, &base, &size);
		if (size)
			ret = bus_register(&m->vm.mmio, base, size,
					   pci_bar_io, win);
	}
	return ret;
}

static int machine_add_devices(struct machine *m, int serial_fd)
{
	int ret;

	m->serial = serial_new(serial_fd, machine_serial_irq, m);
	if (!m->serial)
		return -ENOMEM;
	ret = bus_register(&m->vm.pio, PORT_COM1, 8, serial_io, m->serial);
	if (ret)
		return ret;
	pm_init(&m->pm, machine_pm_event, m);
	ret = bus_register(&m->vm.pio, PORT_PM_BASE, 3, pm_io, &m->pm);
	if (!ret)
		ret = machine_add_pci(m);
	return ret ? ret : machine_add_hotplug(m);
}

/*
 * One RX/TX pair per virtio-net device (no multiqueue yet): a larger
 * num_queues is refused rather than given fewer queues silently.
 */
static int machine_check_devices(const struct config *cfg, char *err,
				 size_t errlen)
{
	unsigned int i;

	for (i = 0; i < cfg->nnets; i++) {
		if (cfg->nets[i].num_queues == 2)
			continue;
		snprintf(err, errlen, "--net: %s: num_queues=%u: this evmm "
			 "gives a network device one RX/TX pair (num_queues=2)"
			 "; accepted form: " CONFIG_NET_FORM, cfg->nets[i].id,
			 cfg->nets[i].num_queues);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* get-id answers the serial, or the id (CH's "_disk0" if none given). */
static void machine_blk_backend(const struct disk *d,
				const struct config_disk *c,
				struct virtio_blk_backend *be)
{
	*be = (struct virtio_blk_backend){
		.fd = d->fd, .sectors = d->sectors,
		.block_size = d->block_size, .readonly = d->readonly,
		.direct = d->direct,
	};
	snprintf(be->serial, sizeof(be->serial), "%s",
		 c->serial[0] ? c->serial : c->id);
}

/* Disk i: virtio-blk, its transport in its slot, its thread. */
static int machine_add_disk(struct machine *m, unsigned int i)
{
	const struct config_disk *c = &m->cfg->disks[i];
	struct virtio_blk_backend be;
	struct vdev *d = &m->vdevs[i];
	int ret;

	machine_blk_backend(&m->disks[i], c, &be);
	ret = virtio_blk_new(&m->blks[i], &be, c->num_queues);
	if (ret)
		return ret;
	ret = vdev_init(d, &m->vm, virtio_blk_ops(m->blks[i]), m->blks[i],
			c->num_queues, c->queue_size, c->id);
	m->nvdevs++;
	if (ret)
		return ret;
	ret = pci_bus_add(m->pci, config_disk_slot(m->cfg, i),
			  virtio_pci_dev(d->t));
	if (ret < 0)
		return ret;
	return vdev_start(d, m->cfg->seccomp);
}

/* Net i: virtio-net on its tap, its transport in its slot, its thread. */
static int machine_add_net(struct machine *m, unsigned int i)
{
	const struct config_net *c = &m->cfg->nets[i];
	struct vdev *d = &m->vdevs[m->ndisks + i];
	struct virtio_net_backend be;
	int ret;

	tap_backend(&m->taps[i], c, &be);
	ret = virtio_net_new(&m->nets[i], &be);
	if (ret)
		return ret;
	ret = vdev_init(d, &m->vm, virtio_net_ops(m->nets[i]), m->nets[i],
			c->num_queues, c->queue_size, c->id);
	m->nvdevs++;
	if (!ret)
		ret = tap_attach(&m->taps[i], &d->io, d->t);
	if (!ret)
		ret = pci_bus_add(m->pci, config_net_slot(m->cfg, i),
				  virtio_pci_dev(d->t));
	if (ret < 0)
		return ret;
	return vdev_start(d, m->cfg->seccomp);
}

static int machine_add_vdevs(struct machine *m, char *err, size_t errlen)
{
	unsigned int i;
	int ret = 0;

	if (!m->ndisks && !m->ntaps)
		return 0;
	m->blks = calloc(m->ndisks + 1, sizeof(*m->blks));
	m->nets = calloc(m->ntaps + 1, sizeof(*m->nets));
	m->vdevs = calloc(m->ndisks + m->ntaps, sizeof(*m->vdevs));
	if (!m->blks || !m->nets || !m->vdevs)
		ret = -ENOMEM;
	for (i = 0; !ret && i < m->ndisks; i++)
		ret = machine_add_disk(m, i);
	if (ret) {
		snprintf(err, errlen, "--disk: cannot set up the virtio-blk "
			 "device: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; !ret && i < m->ntaps; i++)
		ret = machine_add_net(m, i);
	if (ret)
		snprintf(err, errlen, "--net: cannot set up the virtio-net "
			 "device: %s", strerror(-ret));
	return ret;
}

static void machine_free_vdevs(struct machine *m)
{
	unsigned int i;
	struct vdev *d;

	while (m->nvdevs) {
		i = --m->nvdevs;
		d = &m->vdevs[i];
		if (d->t)
			pci_bus_remove(m->pci, virtio_pci_dev(d->t));
		vdev_free(d);
		if (i < m->ndisks)
			virtio_blk_free(m->blks[i]);
		else
			virtio_net_free(m->nets[i - m->ndisks]);
	}
	free(m->vdevs);
	free(m->blks);
	free(m->nets);
	m->vdevs = NULL;
	m->blks = NULL;
	m->nets = NULL;
}

/* Before the guest runs: a missing or locked image stops evmm here. */
static int machine_open_disks(struct machine *m, char *err, size_t errlen)
{
	int ret;

	if (!m->cfg->ndisks)
		return 0;
	m->disks = calloc(m->cfg->ndisks, sizeof(*m->disks));
	if (!m->disks) {
		snprintf(err, errlen, "--disk: out of memory");
		return -ENOMEM;
	}
	for (; m->ndisks < m->cfg->ndisks; m->ndisks++) {
		ret = disk_open(&m->disks[m->ndisks], &m->cfg->disks[m->ndisks],
				err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* Before the guest runs: a tap that cannot be had stops evmm here. */
static int machine_open_taps(struct machine *m, char *err, size_t errlen)
{
	int ret;

	if (!m->cfg->nnets)
		return 0;
	m->taps = calloc(m->cfg->nnets, sizeof(*m->taps));
	if (!m->taps) {
		snprintf(err, errlen, "--net: out of memory");
		return -ENOMEM;
	}
	for (; m->ntaps < m->cfg->nnets; m->ntaps++) {
		ret = tap_open(&m->taps[m->ntaps], &m->cfg->nets[m->ntaps],
			       err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int machine_init(struct machine *m, const struct config *cfg, int serial_fd,
		 char *err, size_t errlen)
{
	unsigned int i;
	int ret;

	memset(m, 0, sizeof(*m));
	m->vm.kvm_fd = m->vm.fd = m->vm.event_fd = -1;	/* for machine_free */
	m->cfg = cfg;
	m->eject_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->eject_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	m->kernel.kernel_fd = m->kernel.initrd_fd = -1;
	ret = loader_open(&m->kernel, cfg->kernel, cfg->initramfs, err, errlen);
	if (!ret)
		ret = machine_check_devices(cfg, err, errlen);
	if (!ret)
		ret = machine_open_disks(m, err, errlen);
	if (!ret)
		ret = machine_open_taps(m, err, errlen);
	if (ret)
		return ret;
	ret = vm_init(&m->vm, cfg->max_vcpus);
	if (ret) {
		snprintf(err, errlen, "cannot use KVM (/dev/kvm): %s",
			 strerror(-ret));
		return ret;
	}
	m->vm.seccomp = cfg->seccomp;
	ret = config_check_host(cfg, m->vm.host_max_vcpus, m->vm.phys_bits,
				err, errlen);
	if (ret)
		return ret;
	ret = vm_alloc_ram(&m->vm, cfg->mem_size);
	if (ret) {
		snprintf(err, errlen, "--memory: cannot map %llu MiB: %s",
			 (unsigned long long)cfg->mem_size >> 20, strerror(-ret));
		return ret;
	}
	m->cpu_present = calloc(cfg->max_vcpus, sizeof(bool));
	if (!m->cpu_present)
		return -ENOMEM;
	for (i = 0; i < cfg->boot_vcpus; i++)
		m->cpu_present[i] = true;
	m->cpus_requested = cfg->boot_vcpus;
	ret = machine_add_devices(m, serial_fd);
	if (ret) {
		snprintf(err, errlen, "devices: %s", strerror(-ret));
		return ret;
	}
	return machine_add_vdevs(m, err, errlen);
}

static size_t machine_dsdt(struct machine *m, struct aml_ctx *ctx,
			   const uint32_t *apic_ids, uint8_t **out)
{
	struct aml *body = aml_list(ctx);
	struct aml *sb = aml_scope(ctx, "\\_SB");
	unsigned int events = GED_CPU_HOTPLUG | GED_POWER_BUTTON;
	size_t len;

	aml_append(sb, serial_aml(ctx, "COM1", PORT_COM1, GSI_COM1));
	aml_append(body, sb);
	aml_append(body, cpu_hotplug_aml(ctx, PORT_CPU_HP, m->cfg->max_vcpus,
					 m->cfg->boot_vcpus, apic_ids));
	if (m->mem_hp) {
		aml_append(body, mem_hotplug_aml(ctx, PORT_MEM_HP,
						 m->mem_slots));
		events |= GED_MEM_HOTPLUG;
	}
	aml_append(body, pci_aml(ctx, m->pci));
	aml_append(body, ged_aml(ctx, LAYOUT_GED, GSI_GED, events));
	len = aml_size(body);
	*out = malloc(len);
	if (*out)
		aml_encode(body, *out);
	return len;
}

static int machine_acpi(struct machine *m, uint64_t *rsdp)
{
	unsigned int n = m->cfg->max_vcpus, i;
	uint32_t apic_ids[CONFIG_MAX_VCPUS];
	struct aml_ctx *ctx = aml_ctx_new();
	struct acpi_platform p = {
		.ncpus = n, .apic_ids = apic_ids, .cpu_enabled = m->cpu_present,
		.ioapic_addr = LAYOUT_IOAPIC, .ioapic_id = 0,
		.pm_port = PORT_PM_BASE, .reset_value = PM_RESET_VALUE,
		.ecam_base = LAYOUT_PCI_ECAM, .ecam_end_bus = 0,
	};
	uint8_t *dsdt = NULL;
	ssize_t len;

	for (i = 0; i < n; i++)
		apic_ids[i] = vcpu_apic_id(i);
	p.dsdt_len = machine_dsdt(m, ctx, apic_ids, &dsdt);
	p.dsdt_aml = dsdt;
	len = dsdt ? acpi_build_tables(&p, vm_gpa_ptr(&m->vm, LAYOUT_ACPI,
				       LAYOUT_ACPI_SIZE), LAYOUT_ACPI_SIZE,
				       LAYOUT_ACPI) : -ENOMEM;
	free(dsdt);
	aml_ctx_free(ctx);
	*rsdp = LAYOUT_ACPI;
	return len < 0 ? (int)len : 0;
}

static int machine_start_vcpus(struct machine *m)
{
	unsigned int i;
	int ret;

	for (i = 0; i < m->cfg->max_vcpus; i++) {
		if (!m->cpu_present[i])
			continue;
		ret = vcpu_create(&m->vm, i);
		if (ret)
			return ret;
	}
	ret = boot_setup_bsp(&m->vm.vcpus[0]);
	for (i = 0; !ret && i < m->cfg->max_vcpus; i++)
		if (m->cpu_present[i])
			ret = vcpu_start(&m->vm.vcpus[i]);
	return ret;
}

int machine_start(struct machine *m, char *err, size_t errlen)
{
	uint64_t rsdp;
	unsigned int i;
	int ret;

	/* Removals the guest did not finish happen now; plugs stay. */
	for (i = 0; i < m->cfg->max_vcpus; i++)
		m->cpu_present[i] = i < m->cpus_requested;
	cpu_hotplug_reset(m->cpu_hp, m->cpu_present);
	hotplug_mem_reboot(m);
	ged_reset(m->ged);
	ret = vm_create(&m->vm);
	if (ret) {
		snprintf(err, errlen, "creating the KVM VM: %s", strerror(-ret));
		return ret;
	}
	ret = machine_acpi(m, &rsdp);
	if (ret) {
		snprintf(err, errlen, "building ACPI tables: %s", strerror(-ret));
		goto err;
	}
	ret = boot_setup_memory(&m->vm, &m->kernel, m->cfg->cmdline, rsdp,
				err, errlen);
	if (ret)
		goto err;
	ret = machine_start_vcpus(m);
	if (ret) {
		snprintf(err, errlen, "starting vCPUs: %s", strerror(-ret));
		goto err;
	}
	m->running = true;
	log_debug("the guest is running: %u vCPUs, %llu MiB", m->cpus_requested,
		  (unsigned long long)(m->vm.ram_size >> 20));
	return 0;
err:
	machine_stop(m);
	return ret;
}

void machine_stop(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->vm.max_vcpus; i++)
		vcpu_stop(&m->vm.vcpus[i]);
	for (i = 0; i < m->vm.max_vcpus; i++)
		vcpu_close(&m->vm.vcpus[i]);
	/*
	 * PCI functions back to evmm's assignment with no vCPU left to race
	 * it, while devices can still drop their KVM state from this VM.
	 */
	pci_bus_reset(m->pci);
	vm_destroy(&m->vm);
	m->running = false;
	/*
	 * No vCPU thread is left to make a request: one made meanwhile (a
	 * guest reset during a reboot, a power-off racing vm.shutdown) would
	 * act on the next VM.
	 */
	vm_take_request(&m->vm);
}

enum vm_request machine_take_request(struct machine *m)
{
	enum vm_request req = vm_take_request(&m->vm);

	if (!m->running && (req == VM_REQ_REBOOT || req == VM_REQ_POWEROFF)) {
		log_info("no VM runs: the guest's %s request is dropped",
			 req == VM_REQ_REBOOT ? "reboot" : "power-off");
		return VM_REQ_NONE;
	}
	return req;
}

int machine_reboot(struct machine *m, char *err, size_t errlen)
{
	machine_stop(m);
	serial_reset(m->serial);
	return machine_start(m, err, errlen);
}

void machine_free(struct machine *m)
{
	machine_stop(m);
	machine_free_vdevs(m);
	serial_free(m->serial);
	m->serial = NULL;
	loader_close(&m->kernel);
	while (m->ndisks)
		disk_close(&m->disks[--m->ndisks]);
	free(m->disks);
	m->disks = NULL;
	while (m->ntaps)
		tap_close(&m->taps[--m->ntaps]);
	free(m->taps);
	m->taps = NULL;
	vm_free(&m->vm);
	free(m->cpu_present);
	m->cpu_present = NULL;
	cpu_hotplug_free(m->cpu_hp);
	m->cpu_hp = NULL;
	pci_bus_free(m->pci);
	m->pci = NULL;
	ged_free(m->ged);
	m->ged = NULL;
	mem_hotplug_free(m->mem_hp);
	m->mem_hp = NULL;
	if (m->eject_fd >= 0)
		close(m->eject_fd);
	m->eject_fd = -1;
}
