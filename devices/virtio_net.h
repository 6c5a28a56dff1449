/*
 * virtio-net (virtio spec, "Network Device") on a tap-like file
 * descriptor: each read gives one frame and each write takes one, both
 * after a 12-byte virtio_net_hdr_v1 (a tap with IFF_VNET_HDR and
 * TUNSETVNETHDRSZ 12; a datagram socket in the tests). One receive and
 * one transmit queue (Cloud Hypervisor's default pair). A device type for
 * devices/virtio_pci.h that knows nothing of where the fd came from
 * (vmm/tap.c opens it): what needs the device thread's event loop or an
 * ioctl goes through the backend's callbacks.
 *
 * Offered: MAC, STATUS (the link is always up), MTU when one is given,
 * MRG_RXBUF, and of CSUM, GUEST_CSUM, GUEST_TSO4/TSO6/ECN/UFO and
 * HOST_TSO4/TSO6/ECN/UFO those the backend can do; the transport adds
 * VERSION_1, INDIRECT_DESC and EVENT_IDX.
 *
 * Transmit: each chain (header and frame in its readable part) goes to
 * the fd with one writev, the guest's memory as it is; the backend checks
 * the header. A frame the fd refuses is dropped and counted, as a NIC with
 * its link down would; a full fd (EAGAIN) waits until it is writable.
 *
 * Receive never blocks and drops nothing for want of buffers: the device
 * reads a frame only when the guest's buffers can take the largest one
 * (VIRTIO_NET_RX_MAX with MRG_RXBUF, else one buffer), straight into them
 * with one readv; with fewer buffers than that it reads the frame into its
 * own buffer and delivers it once the guest has room. With no room it
 * stops watching the fd until the guest adds buffers (a kick). Frames are
 * dropped (and counted) only when they cannot be what the driver asked
 * for: an offload it did not accept (the fd's offloads follow the driver's
 * features from its first receive on), a frame larger than its buffers
 * without MRG_RXBUF, shorter than the header.
 */
#ifndef EVMM_VIRTIO_NET_H
#define EVMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_net;
struct virtio_dev_ops;

#define VIRTIO_NET_MAC_LEN	6
#define VIRTIO_NET_HDR_LEN	12	/* struct virtio_net_hdr_v1 */
/* A tap's largest frame: a 64 KiB GSO packet, a VLAN tag, the header. */
#define VIRTIO_NET_RX_MAX	(VIRTIO_NET_HDR_LEN + 4 + 65536)
/* The virtio-net MTU a device may announce (68: IPv4's minimum). */
#define VIRTIO_NET_MTU_MIN	68

struct virtio_net_backend {
	int fd;			/* non-blocking; stays the caller's */
	uint8_t mac[VIRTIO_NET_MAC_LEN];	/* the guest's */
	uint16_t mtu;			/* announced with F_MTU; 0: none */
	/*
	 * The offload features (CSUM, GUEST_* and HOST_* bits of
	 * VIRTIO_NET_F_*) the backend can do; the device offers those.
	 */
	uint64_t offloads;
	void *opaque;			/* the callbacks' */
	/*
	 * On the device thread: deliver frames with the GUEST_ offloads in
	 * features (the driver's, a subset of offloads), 0 or -errno.
	 */
	int (*set_offloads)(void *opaque, uint64_t features);
	/*
	 * On the device thread: wake it (virtio_pci_kick of queue 0 when fd
	 * is readable, of queue 1 when writable) for rx and tx; neither:
	 * stop watching fd.
	 */
	void (*watch)(void *opaque, bool rx, bool tx);
	/*
	 * On the device thread: a read (rx) or write failed with -err, for a
	 * reason of the host's (the tap is gone); receiving waits for the
	 * guest's next kick. Errors a guest can cause are only counted.
	 */
	void (*failed)(void *opaque, bool rx, int err);
};

/* Counters, as Cloud Hypervisor's vm.counters names them, and drops. */
struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes, rx_dropped;
	uint64_t tx_frames, tx_bytes, tx_dropped;
};

/*
 * 0, -EINVAL (a bad backend: no fd or callbacks, an MTU below 68) or
 * -ENOMEM.
 */
int virtio_net_new(struct virtio_net **out, const struct virtio_net_backend *b);
void virtio_net_free(struct virtio_net *n);
/* Its type, for virtio_pci_new with 2 queues (dev: the virtio_net). */
const struct virtio_dev_ops *virtio_net_ops(const struct virtio_net *n);
/* Any thread: the counters so far. */
void virtio_net_stats(const struct virtio_net *n, struct virtio_net_stats *s);

#endif
