/*
 * Taps: open, configure, and serve as virtio-net's backend (vmm/tap.h).
 * The setup is a series of ioctls, each failure one line that names
 * --net, the tap, what could not be done and, for the usual causes (no
 * CAP_NET_ADMIN, a tap someone else has open), why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio_pci.h"
#include "vmm/config.h"
#include "vmm/iothread.h"
#include "vmm/log.h"
#include "vmm/tap.h"

#define TAP_DEV		"/dev/net/tun"
#define TAP_PATTERN	"vmtap%d"	/* the kernel picks the number */
#define TAP_RXQ		0
#define TAP_TXQ		1
#define TAP_LOG_MAX	4		/* host-side errors logged */

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define TAP_CSUM	(F(CSUM) | F(GUEST_CSUM))
#define TAP_TSO		(F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) | \
			 F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN))
#define TAP_UFO		(F(GUEST_UFO) | F(HOST_UFO))

/* "--net: tap "NAME": message; accepted form: FORM", on one line. */
__attribute__((format(printf, 5, 6)))
static int tap_err(char *err, size_t errlen, const char *name, int ret,
		   const char *fmt, ...)
{
	size_t n = snprintf(err, errlen, "--net: tap \"%s\": ", name);
	va_list ap;

	va_start(ap, fmt);
	if (n < errlen)
		n += vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	if (n < errlen)
		snprintf(err + n, errlen - n, "; accepted form: "
			 CONFIG_NET_FORM);
	return ret;
}

/* Why an ioctl on a tap usually fails. */
static const char *tap_hint(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return " (creating or changing a tap needs CAP_NET_ADMIN; "
		       "an existing tap must belong to evmm's user)";
	case EBUSY:
		return " (another process has it open)";
	case EINVAL:
		return " (it is not a tap, or a multi-queue one: evmm needs "
		       "a single-queue tap)";
	case ENOENT:
	case ENODEV:
		return " (no tun driver: modprobe tun)";
	}
	return "";
}

static int tap_fail(char *err, size_t errlen, const char *name,
		    const char *what, int e)
{
	return tap_err(err, errlen, name, -e, "%s: %s%s", what, strerror(e),
		       tap_hint(e));
}

/* --- Opening ------------------------------------------------------------- */

static int tap_attach_fd(struct tap *t, const char *want, bool existed,
			 char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = VIRTIO_NET_HDR_LEN;

	t->fd = open(TAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return tap_fail(err, errlen, want, "cannot open " TAP_DEV,
				errno);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", want);
	if (ioctl(t->fd, TUNSETIFF, &ifr))
		return tap_fail(err, errlen, want, existed ? "cannot attach" :
				"cannot create", errno);
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr))
		return tap_fail(err, errlen, t->name, "no vnet header", errno);
	return 0;
}

/*
 * What the tap can offload, as virtio features: checksums, then TSO, then
 * UFO (which newer kernels take only as USO's predecessor); none set yet.
 */
static uint64_t tap_probe_offloads(int fd)
{
	static const struct {
		unsigned int tun;
		uint64_t virtio;
	} steps[] = {
		{ TUN_F_CSUM, TAP_CSUM },
		{ TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, TAP_TSO },
		{ TUN_F_UFO, TAP_UFO },
	};
	unsigned int tun = 0, i;
	uint64_t f = 0;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, tun | steps[i].tun))
			break;
		tun |= steps[i].tun;
		f |= steps[i].virtio;
	}
	if (ioctl(fd, TUNSETOFFLOAD, 0))
		return 0;
	return f;
}

/* Cloud Hypervisor's offload_* keys: TSO and UFO only with checksums. */
static uint64_t tap_allowed(const struct config_net *cfg)
{
	uint64_t f = 0;

	if (!cfg->offload_csum)
		return 0;
	f |= TAP_CSUM;
	if (cfg->offload_tso)
		f |= TAP_TSO;
	if (cfg->offload_ufo)
		f |= TAP_UFO;
	return f;
}

static int tap_sock(void)
{
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static void tap_ifr(const struct tap *t, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", t->name);
}

static int tap_set_addr(const struct tap *t, int s, unsigned long req,
			struct in_addr a)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	tap_ifr(t, &ifr);
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	return ioctl(s, req, &ifr) ? -errno : 0;
}

static int tap_set_ip(const struct tap *t, int s,
		      const struct config_net *cfg, char *err, size_t errlen)
{
	char ip[INET_ADDRSTRLEN];
	int ret;

	inet_ntop(AF_INET, &cfg->ip, ip, sizeof(ip));
	ret = tap_set_addr(t, s, SIOCSIFADDR, cfg->ip);
	if (!ret)
		ret = tap_set_addr(t, s, SIOCSIFNETMASK, cfg->mask);
	if (ret)
		return tap_err(err, errlen, t->name, ret, "cannot set ip %s: "
			       "%s%s", ip, strerror(-ret), tap_hint(-ret));
	return 0;
}

/* host_mac= if given (and not already so), then what the tap has. */
static int tap_set_mac(struct tap *t, int s, const struct config_net *cfg,
		       char *err, size_t errlen)
{
	struct ifreq ifr;

	tap_ifr(t, &ifr);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		return tap_fail(err, errlen, t->name, "cannot read its MAC",
				errno);
	if (cfg->has_host_mac &&
	    memcmp(ifr.ifr_hwaddr.sa_data, cfg->host_mac, VIRTIO_NET_MAC_LEN)) {
		memcpy(ifr.ifr_hwaddr.sa_data, cfg->host_mac,
		       VIRTIO_NET_MAC_LEN);
		if (ioctl(s, SIOCSIFHWADDR, &ifr))
			return tap_fail(err, errlen, t->name,
					"cannot set host_mac", errno);
	}
	memcpy(t->host_mac, ifr.ifr_hwaddr.sa_data, VIRTIO_NET_MAC_LEN);
	return 0;
}

static int tap_set_mtu(const struct tap *t, int s,
		       const struct config_net *cfg, char *err, size_t errlen)
{
	struct ifreq ifr;

	if (!cfg->mtu)
		return 0;
	tap_ifr(t, &ifr);
	ifr.ifr_mtu = cfg->mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr))
		return tap_fail(err, errlen, t->name, "cannot set mtu", errno);
	return 0;
}

/* Up, unless it is: an unprivileged user's own tap may be up already. */
static int tap_up(const struct tap *t, int s, char *err, size_t errlen)
{
	struct ifreq ifr;

	tap_ifr(t, &ifr);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return tap_fail(err, errlen, t->name, "cannot read its flags",
				errno);
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		return tap_fail(err, errlen, t->name, "cannot bring it up",
				errno);
	return 0;
}

static int tap_configure(struct tap *t, const struct config_net *cfg,
			 bool existed, char *err, size_t errlen)
{
	int s = tap_sock(), ret = 0;

	if (s < 0)
		return tap_fail(err, errlen, t->name, "socket", errno);
	if (cfg->has_ip && existed)
		log_warn("--net: tap %s exists: its addresses stay as they "
			 "are (ip= and mask= are for a tap evmm creates)",
			 t->name);
	else if (cfg->has_ip)
		ret = tap_set_ip(t, s, cfg, err, errlen);
	if (!ret)
		ret = tap_set_mac(t, s, cfg, err, errlen);
	if (!ret)
		ret = tap_set_mtu(t, s, cfg, err, errlen);
	if (!ret)
		ret = tap_up(t, s, err, errlen);
	close(s);
	return ret;
}

int tap_open(struct tap *t, const struct config_net *cfg, char *err,
	     size_t errlen)
{
	const char *want = cfg->tap[0] ? cfg->tap : TAP_PATTERN;
	bool existed = cfg->tap[0] && if_nametoindex(cfg->tap);
	int ret;

	memset(t, 0, sizeof(*t));
	t->io_fd = -1;
	ret = tap_attach_fd(t, want, existed, err, errlen);
	if (!ret) {
		t->offloads = tap_probe_offloads(t->fd) & tap_allowed(cfg);
		ret = tap_configure(t, cfg, existed, err, errlen);
	}
	if (ret)
		tap_close(t);
	return ret;
}

void tap_close(struct tap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* --- The device thread's side -------------------------------------------- */

unsigned int tap_offload_flags(uint64_t f)
{
	unsigned int tun = 0;

	if (!(f & F(GUEST_CSUM)))
		return 0;
	tun |= TUN_F_CSUM;
	if (f & F(GUEST_TSO4))
		tun |= TUN_F_TSO4;
	if (f & F(GUEST_TSO6))
		tun |= TUN_F_TSO6;
	if ((f & F(GUEST_ECN)) && (tun & (TUN_F_TSO4 | TUN_F_TSO6)))
		tun |= TUN_F_TSO_ECN;
	if (f & F(GUEST_UFO))
		tun |= TUN_F_UFO;
	return tun;
}

/* Host-side failures: a few lines, not one per frame. */
static void tap_log(struct tap *t, const char *what, int err)
{
	if (t->failures++ < TAP_LOG_MAX)
		log_err("tap %s: %s: %s%s", t->name, what, strerror(-err),
			t->failures == TAP_LOG_MAX ? " (not logged again)" :
			"");
}

static int tap_cb_offloads(void *opaque, uint64_t features)
{
	struct tap *t = opaque;

	if (!ioctl(t->fd, TUNSETOFFLOAD, tap_offload_flags(features)))
		return 0;
	tap_log(t, "setting offloads", -errno);
	return -errno;
}

static void tap_cb_watch(void *opaque, bool rx, bool tx)
{
	struct tap *t = opaque;
	uint32_t events = (rx ? EPOLLIN : 0) | (tx ? EPOLLOUT : 0);
	int ret = iothread_watch_fd(t->io, t->io_fd, events);

	if (ret)
		tap_log(t, "epoll", ret);
}

static void tap_cb_failed(void *opaque, bool rx, int err)
{
	tap_log(opaque, rx ? "receiving" : "sending", err);
}

/*
 * The fd is readable or writable (or hung up: the tap is gone, the
 * device's read says so). A device no longer live (reset) has no use for
 * it until its driver is back.
 */
static void tap_ready(void *opaque, uint32_t events)
{
	struct tap *t = opaque;
	bool live = true;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		live = virtio_pci_kick(t->t, TAP_RXQ);
	if (events & EPOLLOUT)
		live = virtio_pci_kick(t->t, TAP_TXQ) && live;
	if (!live)
		tap_cb_watch(t, false, false);
}

void tap_backend(struct tap *t, const struct config_net *cfg,
		 struct virtio_net_backend *be)
{
	*be = (struct virtio_net_backend){
		.fd = t->fd, .mtu = cfg->mtu, .offloads = t->offloads,
		.opaque = t, .set_offloads = tap_cb_offloads,
		.watch = tap_cb_watch, .failed = tap_cb_failed,
	};
	memcpy(be->mac, cfg->mac, VIRTIO_NET_MAC_LEN);
}

int tap_attach(struct tap *t, struct iothread *io, struct virtio_pci *vp)
{
	int i = iothread_add_fd(io, t->fd, tap_ready, t);

	if (i < 0)
		return i;
	t->io = io;
	t->io_fd = i;
	t->t = vp;
	io->ioctl_fd = t->fd;
	return 0;
}
