/*
 * Device threads: one per virtio device, an epoll loop over its queues'
 * kick eventfds (KVM's doorbells signal them), with its own seccomp filter
 * (no KVM ioctl, no thread, no socket). The device's work (a disk's
 * reads and writes) runs there, never on a vCPU thread. Started by the
 * vCPU spawner, so a device added while the VMM thread is filtered gets a
 * thread too; it lives as long as the device, across guest reboots.
 */
#ifndef EVMM_IOTHREAD_H
#define EVMM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

struct virtio_pci;

struct iothread {
	pthread_t thread;
	bool live;
	int epfd;		/* -1: none */
	int stop_fd;		/* -1: none */
	int seccomp;		/* enum seccomp_mode */
	struct virtio_pci *t;
	char name[16];
};

/* An iothread that iothread_stop() may be called on. */
void iothread_init(struct iothread *io);
/*
 * Starts t's thread (name: "io-NAME", shortened to fit), waiting on each
 * queue's kick fd. 0 or -errno, with nothing left running.
 */
int iothread_start(struct iothread *io, struct virtio_pci *t,
		   const char *name, int seccomp_mode);
/* Stops and joins the thread (after the work in progress), closes its fds. */
void iothread_stop(struct iothread *io);

#endif
