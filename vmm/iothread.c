/*
 * A device thread's loop. A kick fd is read before the kick is handled, so
 * that a guest kick during the handling is seen again, not lost.
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
#define IOTHREAD_EVENTS	16

void iothread_init(struct iothread *io)
{
	memset(io, 0, sizeof(*io));
	io->epfd = io->stop_fd = -1;
}

static void iothread_kick(struct iothread *io, unsigned int q)
{
	uint64_t n;

	if (read(virtio_pci_kick_fd(io->t, q), &n, sizeof(n)) < 0 &&
	    errno != EAGAIN)
		log_err("%s: kick %u: %s", io->name, q, strerror(errno));
	virtio_pci_kick(io->t, q);
}

static void *iothread_main(void *arg)
{
	struct epoll_event ev[IOTHREAD_EVENTS];
	struct iothread *io = arg;
	int n, i, ret;

	pthread_setname_np(pthread_self(), io->name);
	ret = seccomp_apply(SECCOMP_IO, io->seccomp);
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
		for (i = 0; i < n; i++) {
			if (ev[i].data.u32 == IOTHREAD_STOP)
				return NULL;
			iothread_kick(io, ev[i].data.u32);
		}
	}
}

static int iothread_watch(struct iothread *io, int fd, uint32_t what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = what };

	return epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int iothread_fds(struct iothread *io)
{
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
	return ret;
}

int iothread_start(struct iothread *io, struct virtio_pci *t,
		   const char *name, int seccomp_mode)
{
	int ret;

	iothread_init(io);
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
}
