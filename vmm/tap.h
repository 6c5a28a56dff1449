/*
 * Taps (--net): the host side of a virtio-net device. Opened before the
 * guest runs, attached to the named tap or a new one (vmtapN, as Cloud
 * Hypervisor names them), with a 12-byte virtio-net header on every frame
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ); configured as the options say; kept
 * open across guest reboots until evmm exits. A tap evmm created goes
 * with its last close.
 *
 * Then the backend of devices/virtio_net.h: the fd on the device's I/O
 * thread (woken for frames to read or room to write), its offloads set
 * there (TUNSETOFFLOAD, the thread's one ioctl) from the driver's
 * features.
 */
#ifndef EVMM_TAP_H
#define EVMM_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_net.h"

struct config_net;
struct iothread;
struct virtio_pci;

struct tap {
	int fd;				/* -1: not open */
	char name[IFNAMSIZ];		/* as the kernel has it */
	uint8_t host_mac[VIRTIO_NET_MAC_LEN];
	/* VIRTIO_NET_F_ offloads the tap can do and the options allow. */
	uint64_t offloads;
	/* The device thread's: */
	struct iothread *io;
	int io_fd;			/* its index in io */
	struct virtio_pci *t;
	unsigned int failures;		/* host-side errors logged */
};

/*
 * Opens cfg's tap, or creates one, with a vnet header; sets the host
 * side's address (a tap evmm creates; an existing one keeps its own, as
 * in Cloud Hypervisor), MAC and MTU if given, and brings it up. Returns 0
 * or -errno with a one-line message naming --net in err; t->fd is -1 on
 * failure. Needs CAP_NET_ADMIN to create a tap or change one.
 */
int tap_open(struct tap *t, const struct config_net *cfg, char *err,
	     size_t errlen);
/* Closes the tap (one evmm created is removed); a closed one is fine. */
void tap_close(struct tap *t);

/* The backend for virtio_net_new, with cfg's MTU and guest MAC. */
void tap_backend(struct tap *t, const struct config_net *cfg,
		 struct virtio_net_backend *be);
/*
 * Then, before io starts: the tap's fd on io's thread (not watched until
 * the device asks), waking transport vp's queues; io's filter allows
 * TUNSETOFFLOAD on it. 0 or -ENOSPC.
 */
int tap_attach(struct tap *t, struct iothread *io, struct virtio_pci *vp);

/* TUNSETOFFLOAD's flags for the GUEST_ offloads in virtio features. */
unsigned int tap_offload_flags(uint64_t features);

#endif
