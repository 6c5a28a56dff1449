/*
 * The /init of evmm's test initramfs. It speaks a line protocol on the
 * console so that tests and benchmarks can drive a guest:
 *
 *   EVMM-INIT: ready cpus_present=0-1 cpus_online=0-1 memtotal_kb=N \
 *              root=initramfs|<device>,ro|rw net=none|<ifname>,<addr>/<prefix>
 *   EVMM-INIT: status cpus_present=... (the same fields)
 *   EVMM-INIT: uevent <ACTION> <DEVPATH>     (cpu, memory, pci, block, net)
 *   EVMM-INIT: done rc=<exit status>         (after each shell command)
 *   EVMM-INIT: poweroff | reboot
 *   EVMM-INIT: power-button                  (then poweroff)
 *
 *   EVMM-INIT: memtest pages=N high=N bad=N  (then done rc=0 if bad=0)
 *
 * Input lines are `poweroff`, `reboot`, `status`, `memtest MIB` or a
 * /bin/sh command. memtest writes a pattern into MIB MiB of fresh memory,
 * reads it back, and counts the pages that sit at or above 4 GiB
 * physical (where hotplugged RAM goes), from /proc/self/pagemap.
 * Being PID 1 it reaps orphans, never exits, and turns busybox's
 * poweroff/reboot/halt signals into the real thing. Like systemd-logind,
 * it powers off on the ACPI power button's KEY_POWER.
 *
 * It loads the modules tools/mkguesttree lists: /lib/modules/load (the
 * power button's) at boot, /lib/modules/load.virtio (virtio-pci disks and
 * network, ext4) once a virtio PCI device is there, at boot or hotplugged.
 * The kernel command line may add:
 *   root=/dev/vdX [rootfstype=T] [ro|rw]  switch to that disk's own copy of
 *       this init, like an initramfs would (ro unless rw, and ro on a
 *       read-only disk, as the kernel does; ext4 unless rootfstype=).
 *       If the disk does not come within ROOT_WAIT_MS or will not
 *       mount, say so and stay on the initramfs.
 *   evmm.ip=ADDR/PREFIX  bring up lo and the first other network interface
 *       (by name: eth0 for the first virtio-net card) with that address.
 *   evmm.cmd=WORD        run WORD once after boot, as if typed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PREFIX "EVMM-INIT: "
#define LINE_MAX_LEN 4096
#define ROOT_WAIT_MS 5000	/* for the root disk and the network card */

static struct {
	int sigfd;
	int uevfd;
	int btnfd;		/* the power button's evdev node, or -1 */
	int console_ok;		/* console still readable */
	pid_t child;		/* running shell command, or 0 */
	int on_disk;		/* root is a disk, not the initramfs */
	int virtio_loaded;	/* load.virtio done */
	char ifname[IFNAMSIZ];	/* interface evmm.ip configured, or "" */
	char buf[LINE_MAX_LEN];
	size_t len;		/* bytes buffered in buf */
} st;

/* One write per message, so lines from us never interleave mid-line. */
static void say(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = n < (int)sizeof(msg) - 2 ? n : (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	if (write(STDOUT_FILENO, msg, n) < 0)
		return;
}

static void mount_one(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, MS_NOSUID, NULL) < 0 && errno != EBUSY)
		say(PREFIX "mount %s: %s", dir, strerror(errno));
}

static const char *const basic_mounts[][2] = {
	{ "proc", "/proc" }, { "sysfs", "/sys" },
	{ "devtmpfs", "/dev" }, { "tmpfs", "/tmp" },
};

static void mount_basics(void)
{
	size_t i;

	for (i = 0; i < sizeof(basic_mounts) / sizeof(basic_mounts[0]); i++)
		mount_one(basic_mounts[i][0], basic_mounts[i][1],
			  basic_mounts[i][0]);
}

/* Lazily: the console stays open on the old /dev/console. */
static void umount_basics(void)
{
	size_t i;

	for (i = 0; i < sizeof(basic_mounts) / sizeof(basic_mounts[0]); i++)
		umount2(basic_mounts[i][1], MNT_DETACH);
}

/* Stdio on /dev/console; canonical input without echo, CR read as NL. */
static void setup_console(void)
{
	struct termios t;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (tcgetattr(0, &t) == 0) {
		t.c_lflag |= ICANON;
		t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
		t.c_iflag |= ICRNL;
		t.c_iflag &= ~(INLCR | IGNCR);
		tcsetattr(0, TCSANOW, &t);
	}
	st.console_ok = 1;
}

static const int ignored_sigs[] = { SIGINT, SIGHUP, SIGQUIT, SIGPIPE,
				    SIGTSTP, SIGTTIN, SIGTTOU };

static void set_ignored(void (*handler)(int))
{
	size_t i;

	for (i = 0; i < sizeof(ignored_sigs) / sizeof(ignored_sigs[0]); i++)
		signal(ignored_sigs[i], handler);
}

static void setup_signals(void)
{
	sigset_t set;

	set_ignored(SIG_IGN);
	/* Blocked signals are queued even for PID 1; signalfd reads them. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);	/* busybox halt */
	sigaddset(&set, SIGUSR2);	/* busybox poweroff */
	sigaddset(&set, SIGTERM);	/* busybox reboot */
	sigprocmask(SIG_BLOCK, &set, NULL);
	st.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (st.sigfd < 0)
		say(PREFIX "signalfd: %s", strerror(errno));
}

static void setup_uevents(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1,		/* kernel uevents */
	};
	int sz = 1 << 20;

	st.uevfd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			  NETLINK_KOBJECT_UEVENT);
	if (st.uevfd < 0) {
		say(PREFIX "uevent socket: %s", strerror(errno));
		return;
	}
	/* A 4 GiB memory resize sends dozens of events at once. */
	setsockopt(st.uevfd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	if (bind(st.uevfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		say(PREFIX "uevent bind: %s", strerror(errno));
		close(st.uevfd);
		st.uevfd = -1;
	}
}

/* First line of a file, without its newline; "?" if unreadable. */
static void read_first_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");

	snprintf(out, size, "?");
	if (!f)
		return;
	if (fgets(out, size, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/*
 * The value of `name=value` on the kernel command line into out ("" for a
 * bare `name`), the last one winning as in the kernel. Returns the word's
 * position from 1, or 0 if absent.
 */
static int cmdline_arg(const char *name, char *out, size_t size)
{
	char cmdline[4096], *w, *save;
	size_t n = strlen(name);
	int pos = 0, found = 0;

	read_first_line("/proc/cmdline", cmdline, sizeof(cmdline));
	for (w = strtok_r(cmdline, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		pos++;
		if (strncmp(w, name, n) || (w[n] && w[n] != '='))
			continue;
		snprintf(out, size, "%s", w[n] ? w + n + 1 : "");
		found = pos;
	}
	return found;
}

/* Poll ready(arg) every 100 ms for up to ROOT_WAIT_MS; 0 once it holds. */
static int wait_for(int (*ready)(const char *, char *), const char *arg,
		    char *out, const char *what)
{
	int waited;

	for (waited = 0; !ready(arg, out); waited += 100) {
		if (waited >= ROOT_WAIT_MS)
			return -1;
		if (!waited)
			say(PREFIX "waiting up to %d s for %s",
			    ROOT_WAIT_MS / 1000, what);
		usleep(100 * 1000);
	}
	return 0;
}

static long memtotal_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* "initramfs", or the root disk and how it is mounted: "/dev/vda,rw". */
static void root_state(char *out, size_t size)
{
	FILE *f = fopen("/proc/mounts", "re");
	char line[512], src[256], dir[256], opts[256];

	snprintf(out, size, "initramfs");
	while (st.on_disk && f && fgets(line, sizeof(line), f))
		/* The last mount on / is the one in use. */
		if (sscanf(line, "%255s %255s %*s %255s", src, dir, opts) == 3 &&
		    !strcmp(dir, "/"))
			snprintf(out, size, "%s,%.2s", src, opts);
	if (f)
		fclose(f);
}

/* "eth0,192.168.249.2/24" as the kernel has it now, or "none". */
static void net_state(char *out, size_t size)
{
	struct ifreq ifr = { 0 };
	struct in_addr addr, mask;
	char a[INET_ADDRSTRLEN];
	int fd;

	snprintf(out, size, "none");
	if (!st.ifname[0])
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", st.ifname);
	if (fd >= 0 && ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
		addr = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
		if (ioctl(fd, SIOCGIFNETMASK, &ifr) == 0) {
			mask = ((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr;
			inet_ntop(AF_INET, &addr, a, sizeof(a));
			snprintf(out, size, "%s,%s/%d", st.ifname, a,
				 __builtin_popcount(mask.s_addr));
		}
	}
	if (fd >= 0)
		close(fd);
}

static void report(const char *what)
{
	char present[256], online[256], root[300], net[64];

	read_first_line("/sys/devices/system/cpu/present", present,
			sizeof(present));
	read_first_line("/sys/devices/system/cpu/online", online,
			sizeof(online));
	root_state(root, sizeof(root));
	net_state(net, sizeof(net));
	say(PREFIX "%s cpus_present=%s cpus_online=%s memtotal_kb=%ld "
	    "root=%s net=%s", what, present, online, memtotal_kb(), root, net);
}

static void power(int cmd, const char *what)
{
	say(PREFIX "%s", what);
	sync();
	/* A clean journal, so the disk mounts again read-only (a ro disk). */
	if (st.on_disk)
		mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
	reboot(cmd);
	say(PREFIX "%s failed: %s", what, strerror(errno));
}

/* Physical frame of the page at p; 0 if unknown. */
static uint64_t page_frame(int pagemap, const void *p)
{
	uint64_t e = 0;
	off_t off = (uintptr_t)p / 4096 * sizeof(e);

	if (pread(pagemap, &e, sizeof(e), off) != sizeof(e))
		return 0;
	return (e >> 63) ? e & ((1ULL << 55) - 1) : 0;
}

static int memtest(unsigned long mib)
{
	size_t len = mib << 20, i, pages = len / 4096, high = 0, bad = 0;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!mib || mem == MAP_FAILED || pagemap < 0) {
		say(PREFIX "memtest: %s", strerror(errno));
		return 1;
	}
	/* A few words per page, each naming its page: enough to catch aliasing. */
	for (i = 0; i < pages; i++)
		for (size_t w = 0; w < 512; w += 128)
			mem[i * 512 + w] = 0x5a5a000000000000ULL ^ (i << 9 | w);
	for (i = 0; i < pages; i++) {
		for (size_t w = 0; w < 512; w += 128)
			bad += mem[i * 512 + w] !=
			       (0x5a5a000000000000ULL ^ (i << 9 | w));
		high += page_frame(pagemap, &mem[i * 512]) >= (1ULL << 20);
	}
	say(PREFIX "memtest pages=%zu high=%zu bad=%zu", pages, high, bad);
	return bad != 0;
}

static void run_shell(const char *line)
{
	pid_t pid = fork();
	sigset_t none;

	if (pid < 0) {
		say(PREFIX "fork: %s", strerror(errno));
		say(PREFIX "done rc=127");
		return;
	}
	if (pid == 0) {
		/* Children get default signal handling back. */
		set_ignored(SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (!strncmp(line, "memtest ", 8))
			_exit(memtest(strtoul(line + 8, NULL, 0)));
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	st.child = pid;
}

static void handle_line(char *line)
{
	size_t n;

	line += strspn(line, " \t\r");
	n = strlen(line);
	while (n && strchr(" \t\r\n", line[n - 1]))
		line[--n] = '\0';
	if (!n)
		return;
	if (!strcmp(line, "poweroff"))
		power(RB_POWER_OFF, "poweroff");
	else if (!strcmp(line, "reboot"))
		power(RB_AUTOBOOT, "reboot");
	else if (!strcmp(line, "status"))
		report("status");
	else
		run_shell(line);
}

/* Take one complete line out of the buffer; 0 if there is none. */
static int next_line(char *out)
{
	char *nl = memchr(st.buf, '\n', st.len);
	size_t n;

	if (!nl && st.len < sizeof(st.buf) - 1)
		return 0;
	n = nl ? (size_t)(nl - st.buf) : st.len;
	memcpy(out, st.buf, n);
	out[n] = '\0';
	if (nl)
		n++;
	memmove(st.buf, st.buf + n, st.len - n);
	st.len -= n;
	return 1;
}

static void read_console(void)
{
	ssize_t n = read(0, st.buf + st.len, sizeof(st.buf) - 1 - st.len);

	if (n > 0) {
		st.len += n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		st.console_ok = 0;	/* EOF or hangup: stop polling it */
		if (st.len)
			st.buf[st.len++] = '\n';	/* run the last line */
	}
}

static void load_virtio(void);

static const char *uevent_get(const char *msg, size_t len, const char *key)
{
	size_t klen = strlen(key), off;

	for (off = 0; off < len; off += strlen(msg + off) + 1)
		if (!strncmp(msg + off, key, klen) && msg[off + klen] == '=')
			return msg + off + klen + 1;
	return NULL;
}

static void drain_uevents(void)
{
	char msg[8192];
	const char *sub, *act, *path, *id;
	ssize_t n;

	while ((n = recv(st.uevfd, msg, sizeof(msg) - 1, 0)) > 0) {
		msg[n] = '\0';
		sub = uevent_get(msg, n, "SUBSYSTEM");
		act = uevent_get(msg, n, "ACTION");
		path = uevent_get(msg, n, "DEVPATH");
		id = uevent_get(msg, n, "PCI_ID");
		if (!sub || !act || !path)
			continue;
		if (!strcmp(sub, "cpu") || !strcmp(sub, "memory") ||
		    !strcmp(sub, "pci") || !strcmp(sub, "block") ||
		    !strcmp(sub, "net"))
			say(PREFIX "uevent %s %s", act, path);
		/* A hotplugged disk or card: its drivers bind as they load. */
		if (!strcmp(sub, "pci") && !strcmp(act, "add") && id &&
		    !strncasecmp(id, "1af4:", 5))
			load_virtio();
	}
}

/* Reap every exited process; report the one running a command. */
static void reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != st.child)
			continue;
		st.child = 0;
		/* Killed by a signal: 128 + signal, as shells report it. */
		say(PREFIX "done rc=%d", WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;

	while (read(st.sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else if (si.ssi_signo == SIGTERM)
			power(RB_AUTOBOOT, "reboot");
		else
			power(RB_POWER_OFF, "poweroff");
	}
}

/* Loaded already (by the initramfs, before a disk root): /sys/module/X. */
static int module_loaded(const char *file)
{
	char path[300], *p;

	snprintf(path, sizeof(path), "/sys/module/%.*s",
		 (int)strcspn(file, "."), file);
	for (p = path + strlen("/sys/module/"); *p; p++)
		if (*p == '-')
			*p = '_';
	return access(path, F_OK) == 0;
}

/*
 * In the order of the list, dependencies first. Already loaded (EEXIST)
 * is fine, and so is a driver for what this CPU lacks (ENODEV:
 * crc32c-intel without SSE4.2). No list: nothing to load.
 */
static void load_modules(const char *list)
{
	FILE *f = fopen(list, "re");
	char name[256], path[300];
	int fd;

	while (f && fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = '\0';
		if (!name[0] || module_loaded(name))
			continue;
		snprintf(path, sizeof(path), "/lib/modules/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 &&
			       errno != EEXIST && errno != ENODEV))
			say(PREFIX "module %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (f)
		fclose(f);
}

static void load_virtio(void)
{
	if (!st.virtio_loaded)
		load_modules("/lib/modules/load.virtio");
	st.virtio_loaded = 1;
}

/* Any PCI function of virtio's vendor, 0x1af4. */
static int have_virtio(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[300], vendor[16];
	int found = 0;

	while (d && !found && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 e->d_name);
		read_first_line(path, vendor, sizeof(vendor));
		found = !strcmp(vendor, "0x1af4");
	}
	if (d)
		closedir(d);
	return found;
}

static int node_exists(const char *path, char *unused)
{
	struct stat s;

	(void)unused;
	return stat(path, &s) == 0;
}

/* rw on a read-only disk falls back to ro, as the kernel's root mount does. */
static int mount_rw_or_ro(const char *dev, const char *type,
			  unsigned long flags)
{
	if (!mount(dev, "/newroot", type, flags, NULL))
		return 0;
	if (flags || (errno != EACCES && errno != EROFS))
		return -1;
	say(PREFIX "root %s: read-only device, mounting it ro", dev);
	return mount(dev, "/newroot", type, MS_RDONLY, NULL);
}

/* Mount the root disk on /newroot; 0 if it holds an init to run. */
static int mount_root(const char *dev)
{
	char type[32] = "ext4", word[8];
	unsigned long flags = MS_RDONLY;

	cmdline_arg("rootfstype", type, sizeof(type));
	if (cmdline_arg("rw", word, sizeof(word)) >
	    cmdline_arg("ro", word, sizeof(word)))
		flags = 0;
	if (wait_for(node_exists, dev, NULL, dev) < 0) {
		say(PREFIX "root %s: no such device", dev);
		return -1;
	}
	mkdir("/newroot", 0755);
	if (mount_rw_or_ro(dev, type, flags) < 0) {
		say(PREFIX "root %s: mount %s: %s", dev, type, strerror(errno));
		return -1;
	}
	if (access("/newroot/init", X_OK) < 0) {
		say(PREFIX "root %s: /init: %s", dev, strerror(errno));
		umount("/newroot");
		return -1;
	}
	return 0;
}

/*
 * `root=` given and / still the initramfs: busybox's switch_root frees
 * the initramfs and runs the disk's /init as PID 1, which mounts /proc
 * and the rest afresh. Any failure leaves us booting the initramfs.
 */
static void switch_root(void)
{
	char dev[256];
	struct statfs sfs;

	if (statfs("/", &sfs) == 0 && sfs.f_type != RAMFS_MAGIC &&
	    sfs.f_type != TMPFS_MAGIC) {
		st.on_disk = 1;
		return;
	}
	if (!cmdline_arg("root", dev, sizeof(dev)) || mount_root(dev) < 0)
		return;
	umount_basics();
	execl("/bin/busybox", "switch_root", "/newroot", "/init",
	      (char *)NULL);
	mount_basics();
	say(PREFIX "root %s: switch_root: %s", dev, strerror(errno));
	umount("/newroot");
}

/* The first network interface other than lo, by name, into name. */
static int first_netdev(const char *unused, char *name)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;

	(void)unused;
	name[0] = '\0';
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "lo") &&
		    strlen(e->d_name) < IFNAMSIZ &&
		    (!name[0] || strcmp(e->d_name, name) < 0))
			snprintf(name, IFNAMSIZ, "%s", e->d_name);
	if (d)
		closedir(d);
	return name[0] != '\0';
}

static int set_addr(int fd, struct ifreq *ifr, unsigned long req,
		    in_addr_t a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr->ifr_addr;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = a;
	return ioctl(fd, req, ifr);
}

static int set_up(int fd, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

/* `evmm.ip=ADDR/PREFIX`: lo (which gets 127.0.0.1 by itself) and eth0. */
static void setup_net(void)
{
	char arg[64], name[IFNAMSIZ], *slash, *end;
	struct ifreq ifr = { 0 };
	struct in_addr addr;
	unsigned long prefix = 0;
	int fd;

	if (!cmdline_arg("evmm.ip", arg, sizeof(arg)))
		return;
	slash = strchr(arg, '/');
	if (slash) {
		*slash = '\0';
		prefix = strtoul(slash + 1, &end, 10);
	}
	if (!slash || *end || prefix < 1 || prefix > 32 ||
	    inet_pton(AF_INET, arg, &addr) != 1) {
		say(PREFIX "evmm.ip: not ADDR/PREFIX (1-32)");
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || set_up(fd, "lo") < 0)
		say(PREFIX "net lo: %s", strerror(errno));
	if (fd < 0)
		return;
	if (wait_for(first_netdev, NULL, name, "a network interface") < 0) {
		say(PREFIX "net: no network interface");
		goto out;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (set_addr(fd, &ifr, SIOCSIFADDR, addr.s_addr) < 0 ||
	    set_addr(fd, &ifr, SIOCSIFNETMASK,
		     htonl(~0U << (32 - prefix))) < 0 || set_up(fd, name) < 0) {
		say(PREFIX "net %s: %s", name, strerror(errno));
		goto out;
	}
	snprintf(st.ifname, sizeof(st.ifname), "%s", name);
out:
	close(fd);
}

/* /dev/input/<ev>, made from sysfs' major:minor if devtmpfs has none. */
static int open_event_node(const char *ev)
{
	char path[300], dev[32];
	unsigned int maj, min;
	int fd;

	snprintf(path, sizeof(path), "/dev/input/%s", ev);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	snprintf(path, sizeof(path), "/sys/class/input/%s/dev", ev);
	read_first_line(path, dev, sizeof(dev));
	snprintf(path, sizeof(path), "/dev/input/%s", ev);
	if (sscanf(dev, "%u:%u", &maj, &min) != 2)
		return -1;
	mkdir("/dev/input", 0755);
	if (mknod(path, S_IFCHR | 0600, makedev(maj, min)) < 0)
		return -1;
	return open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

/*
 * The ACPI button driver probes synchronously in finit_module, so the
 * device is there now or not at all: no waiting for it.
 */
static void setup_power_button(void)
{
	DIR *d = opendir("/sys/class/input");
	struct dirent *e;
	char path[300], name[64];

	st.btnfd = -1;
	while (d && st.btnfd < 0 && (e = readdir(d))) {
		if (strncmp(e->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "/sys/class/input/%s/device/name",
			 e->d_name);
		read_first_line(path, name, sizeof(name));
		if (strcmp(name, "Power Button"))
			continue;
		st.btnfd = open_event_node(e->d_name);
		if (st.btnfd < 0)
			say(PREFIX "power button /dev/input/%s: %s", e->d_name,
			    strerror(errno));
	}
	if (d)
		closedir(d);
	if (st.btnfd < 0)
		say(PREFIX "no power button: vm.power-button will not work");
}

static void read_button(void)
{
	struct input_event ev[16];
	ssize_t n = read(st.btnfd, ev, sizeof(ev));
	int i;

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		close(st.btnfd);	/* gone: stop polling it */
		st.btnfd = -1;
	}
	for (i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
		if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER &&
		    ev[i].value == 1) {
			say(PREFIX "power-button");
			power(RB_POWER_OFF, "poweroff");
		}
	}
}

/* `evmm.cmd=WORD` on the kernel command line runs once after boot. */
static void cmdline_command(void)
{
	char word[LINE_MAX_LEN];

	if (cmdline_arg("evmm.cmd", word, sizeof(word)))
		handle_line(word);
}

static void loop(void)
{
	struct pollfd pfd[4];
	char line[LINE_MAX_LEN];

	for (;;) {
		if (!st.child && next_line(line)) {
			handle_line(line);
			continue;
		}
		pfd[0] = (struct pollfd){ .fd = st.uevfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = st.sigfd, .events = POLLIN };
		/* The console belongs to the running command until it ends. */
		pfd[2] = (struct pollfd){ .fd = st.child || !st.console_ok ? -1 : 0,
					  .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = st.btnfd, .events = POLLIN };
		if (poll(pfd, 4, -1) < 0)
			continue;
		/* Uevents first: a command's events come before its "done". */
		if (pfd[0].revents)
			drain_uevents();
		if (pfd[1].revents)
			handle_signals();
		if (pfd[2].revents)
			read_console();
		if (pfd[3].revents)
			read_button();
	}
}

int main(void)
{
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	setenv("HOME", "/", 1);
	mount_basics();
	setup_console();
	load_modules("/lib/modules/load");
	if (have_virtio())
		load_virtio();
	switch_root();
	setup_signals();
	setup_uevents();
	setup_net();
	setup_power_button();
	report("ready");
	cmdline_command();
	loop();
	return 0;
}
