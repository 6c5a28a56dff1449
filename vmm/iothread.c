/*
 * A device thread's loop. A kick fd is read before the kick is handled, so
 * that a guest kick during the handling is seen again, not lost. A
 * backend's fd is level-triggered: its owner stops watching it when it
 * cannot make progress (no guest buffers), or the thread would spin.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio_pci.h"
#include "vmm/iothread.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"

#define IOTHREAD_STOP	UINT32_MAX
#define IOTHREAD_FD(i)	(0x10000 + (i))	/* above any queue index */
#define IOTHREAD_EVENTS	16

void iothread_init(struct iothread *io)
{
	memset(io, 0, sizeof(*io));
	io->epfd = io->stop_fd = io->ioctl_fd = -1;
}

int iothread_add_fd(struct iothread *io, int fd,
		    void (*ready)(void *opaque, uint32_t events), void *opaque)
{
	if (io->nfds == IOTHREAD_MAX_FDS)
		return -ENOSPC;
	io->fds[io->nfds] = (struct iothread_fd){ fd, 0, ready, opaque };
	return io->nfds++;
}

/* fd i into the epoll set, out of it, or its events changed. */
static int iothread_update(struct iothread *io, unsigned int i,
			   uint32_t events)
{
	struct iothread_fd *f = &io->fds[i];
	struct epoll_event ev = { .events = events,
				  .data.u32 = IOTHREAD_FD(i) };
	int op = !events ? EPOLL_CTL_DEL : f->events ? EPOLL_CTL_MOD :
		 EPOLL_CTL_ADD;

	if (io->epfd >= 0 && epoll_ctl(io->epfd, op, f->fd, &ev))
		return -errno;
	f->events = events;
	return 0;
}

int iothread_watch_fd(struct iothread *io, unsigned int i, uint32_t events)
{
	if (i >= io->nfds)
		return -EINVAL;
	if (events == io->fds[i].events)
		return 0;
	return iothread_update(io, i, events);
}

static void iothread_kick(struct iothread *io, unsigned int q)
{
	uint64_t n;

	if (read(virtio_pci_kick_fd(io->t, q), &n, sizeof(n)) < 0 &&
	    errno != EAGAIN)
		log_err("%s: kick %u: %s", io->name, q, strerror(errno));
	virtio_pci_kick(io->t, q);
}

/* One event; true to stop. */
static bool iothread_event(struct iothread *io, const struct epoll_event *ev)
{
	uint32_t what = ev->data.u32;
	struct iothread_fd *f;

	if (what == IOTHREAD_STOP)
		return true;
	if (what < IOTHREAD_FD(0)) {
		iothread_kick(io, what);
		return false;
	}
	f = &io->fds[what - IOTHREAD_FD(0)];
	/* A wake-up from before the fd left the set is ignored. */
	if (f->events)
		f->ready(f->opaque, ev->events);
	return false;
}

static void *iothread_main(void *arg)
{
	struct seccomp_fds fds = { .kvm = -1, .vm = -1, .vcpu = -1 };
	struct epoll_event ev[IOTHREAD_EVENTS];
	struct iothread *io = arg;
	int n, i, ret;

	pthread_setname_np(pthread_self(), io->name);
	fds.tap = io->ioctl_fd;
	ret = seccomp_apply_fds(SECCOMP_IO, io->seccomp, &fds);
	if (ret) {
		log_err("%s: seccomp: %s", io->name, strerror(-ret));
		return NULL;
	}
	for (;;) {
		n = epoll_wait(io->epfd, ev, IOTHREAD_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("%s: epoll: %s", io->name, strerror(errno));
			return NULL;
		}
		for (i = 0; i < n; i++)
			if (iothread_event(io, &ev[i]))
				return NULL;
	}
}

static int iothread_watch(struct iothread *io, int fd, uint32_t what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = what };

	return epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int iothread_fds(struct iothread *io)
{
	uint32_t events;
	unsigned int q;
	int ret;

	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (io->epfd < 0)
		return -errno;
	io->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->stop_fd < 0)
		return -errno;
	ret = iothread_watch(io, io->stop_fd, IOTHREAD_STOP);
	for (q = 0; !ret && q < virtio_pci_num_queues(io->t); q++)
		ret = iothread_watch(io, virtio_pci_kick_fd(io->t, q), q);
	for (q = 0; !ret && q < io->nfds; q++) {
		events = io->fds[q].events;
		io->fds[q].events = 0;
		if (events)
			ret = iothread_update(io, q, events);
	}
	return ret;
}

int iothread_start(struct iothread *io, struct virtio_pci *t,
		   const char *name, int seccomp_mode)
{
	int ret;

	io->epfd = io->stop_fd = -1;
	io->live = false;
	io->t = t;
	io->seccomp = seccomp_mode;
	snprintf(io->name, sizeof(io->name), "io-%s", name);
	ret = iothread_fds(io);
	if (!ret)
		ret = vcpu_spawn_thread(&io->thread, iothread_main, io,
					seccomp_mode);
	if (ret) {
		iothread_stop(io);
		return ret;
	}
	io->live = true;
	return 0;
}

void iothread_stop(struct iothread *io)
{
	uint64_t one = 1;
	unsigned int i;

	if (io->live) {
		if (write(io->stop_fd, &one, sizeof(one)) < 0)
			log_err("%s: cannot stop: %s", io->name,
				strerror(errno));
		pthread_join(io->thread, NULL);
		io->live = false;
	}
	if (io->epfd >= 0)
		close(io->epfd);
	if (io->stop_fd >= 0)
		close(io->stop_fd);
	io->epfd = io->stop_fd = -1;
	for (i = 0; i < io->nfds; i++)
		io->fds[i].events = 0;
}
