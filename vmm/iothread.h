/*
 * Device threads: one per virtio device, an epoll loop over its queues'
 * kick eventfds (KVM's doorbells signal them) and its backend's fds (a
 * tap), with its own seccomp filter (no KVM ioctl, no thread, no socket;
 * an ioctl only on its ioctl_fd). The device's work (a disk's reads and
 * writes, a network card's frames) runs there, never on a vCPU thread.
 * Started by the vCPU spawner, so a device added while the VMM thread is
 * filtered gets a thread too; it lives as long as the device, across
 * guest reboots.
 */
#ifndef EVMM_IOTHREAD_H
#define EVMM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct virtio_pci;

/* A backend's fd (a tap), watched besides the kick fds. */
#define IOTHREAD_MAX_FDS	2

struct iothread_fd {
	int fd;
	uint32_t events;	/* EPOLLIN, EPOLLOUT waited for; 0: none */
	void (*ready)(void *opaque, uint32_t events);
	void *opaque;
};

struct iothread {
	pthread_t thread;
	bool live;
	int epfd;		/* -1: none */
	int stop_fd;		/* -1: none */
	int seccomp;		/* enum seccomp_mode */
	int ioctl_fd;		/* its filter's ioctl fd (a tap), or -1 */
	struct virtio_pci *t;
	struct iothread_fd fds[IOTHREAD_MAX_FDS];
	unsigned int nfds;
	char name[16];
};

/* An iothread that iothread_stop() may be called on. */
void iothread_init(struct iothread *io);
/*
 * Before the start: fd's events (none until iothread_watch_fd) call
 * ready(opaque, events) on the thread. The fd stays the caller's. The
 * index for iothread_watch_fd, or -ENOSPC.
 */
int iothread_add_fd(struct iothread *io, int fd,
		    void (*ready)(void *opaque, uint32_t events), void *opaque);
/*
 * On the thread (in a kick or a ready), or before the start: wait for
 * these events on fd i, none to stop watching it (it leaves the epoll
 * set, so that a hung-up fd cannot keep waking the thread). 0 or -errno.
 */
int iothread_watch_fd(struct iothread *io, unsigned int i, uint32_t events);
/*
 * Starts t's thread (name: "io-NAME", shortened to fit), waiting on each
 * queue's kick fd and the fds added. 0 or -errno, with nothing left
 * running.
 */
int iothread_start(struct iothread *io, struct virtio_pci *t,
		   const char *name, int seccomp_mode);
/*
 * Stops and joins the thread (after the work in progress), closes its own
 * fds; the fds added stay, unwatched.
 */
void iothread_stop(struct iothread *io);

#endif
