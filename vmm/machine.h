/*
 * The machine: the VM, its devices and the boot payload, put together in
 * one explicit order, and its life cycle (start, stop, reboot). Owned by
 * the VMM thread.
 */
#ifndef EVMM_MACHINE_H
#define EVMM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/pm.h"
#include "vmm/loader.h"
#include "vmm/vm.h"

struct config;
struct cpu_hotplug;
struct disk;
struct ged;
struct mem_hotplug;
struct pci_bus;
struct serial;
struct tap;
struct vdev;
struct virtio_blk;
struct virtio_net;

struct machine {
	const struct config *cfg;
	struct vm vm;
	struct kernel_image kernel;
	struct serial *serial;
	struct pm pm;
	struct ged *ged;
	struct pci_bus *pci;	/* segment 0, bus 0: the host bridge, devices */
	struct cpu_hotplug *cpu_hp;
	bool *cpu_present;	/* max_vcpus: plugged, or present at the next boot */
	unsigned int cpus_requested;	/* by vm.resize; the next boot's count */
	struct mem_hotplug *mem_hp;	/* NULL without --memory hotplug_size */
	unsigned int mem_slots;	/* hotplug ranges the guest can have */
	uint64_t mem_requested;	/* bytes, by vm.resize */
	int eject_fd;		/* eventfd: the guest ejected a vCPU or RAM */
	bool running;
	struct disk *disks;	/* cfg->disks' images, open and locked */
	unsigned int ndisks;	/* of them open */
	struct virtio_blk **blks;	/* a virtio-blk per disk */
	struct tap *taps;	/* cfg->nets' taps, open */
	unsigned int ntaps;	/* of them open */
	struct virtio_net **nets;	/* a virtio-net per tap */
	/* Transports, slots and threads: the disks', then the nets'. */
	struct vdev *vdevs;
	unsigned int nvdevs;	/* of them set up */
};

/* Everything that can fail on the user's input: no guest runs yet. */
int machine_init(struct machine *m, const struct config *cfg, int serial_fd,
		 char *err, size_t errlen);
/* Creates the KVM VM, writes tables and boot state, starts the vCPUs. */
int machine_start(struct machine *m, char *err, size_t errlen);
/*
 * Stops the vCPUs and closes the KVM VM; RAM and devices stay. Requests
 * the vCPUs made before they stopped are dropped: they were the old VM's.
 */
void machine_stop(struct machine *m);
/* The pending vm_request; a reboot or power-off without a VM is none. */
enum vm_request machine_take_request(struct machine *m);
/* stop + reset devices + start: a guest reboot keeps what was plugged. */
int machine_reboot(struct machine *m, char *err, size_t errlen);
void machine_free(struct machine *m);

#endif
