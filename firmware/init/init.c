/*
 * The /init of evmm's test initramfs. It speaks a line protocol on the
 * console so that tests and benchmarks can drive a guest:
 *
 *   EVMM-INIT: ready cpus_present=0-1 cpus_online=0-1 memtotal_kb=N
 *   EVMM-INIT: status cpus_present=... cpus_online=... memtotal_kb=N
 *   EVMM-INIT: uevent <ACTION> <DEVPATH>     (cpu and memory subsystems)
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
 * it powers off on the ACPI power button's KEY_POWER (the initramfs
 * carries the button and evdev modules of the guest kernel).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PREFIX "EVMM-INIT: "
#define LINE_MAX_LEN 4096

static struct {
	int sigfd;
	int uevfd;
	int btnfd;		/* the power button's evdev node, or -1 */
	int console_ok;		/* console still readable */
	pid_t child;		/* running shell command, or 0 */
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

static void report(const char *what)
{
	char present[256], online[256];

	read_first_line("/sys/devices/system/cpu/present", present,
			sizeof(present));
	read_first_line("/sys/devices/system/cpu/online", online,
			sizeof(online));
	say(PREFIX "%s cpus_present=%s cpus_online=%s memtotal_kb=%ld", what,
	    present, online, memtotal_kb());
}

static void power(int cmd, const char *what)
{
	say(PREFIX "%s", what);
	sync();
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
	const char *sub, *act, *path;
	ssize_t n;

	while ((n = recv(st.uevfd, msg, sizeof(msg) - 1, 0)) > 0) {
		msg[n] = '\0';
		sub = uevent_get(msg, n, "SUBSYSTEM");
		act = uevent_get(msg, n, "ACTION");
		path = uevent_get(msg, n, "DEVPATH");
		if (sub && act && path &&
		    (!strcmp(sub, "cpu") || !strcmp(sub, "memory")))
			say(PREFIX "uevent %s %s", act, path);
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

/* evdev first: the button's input device then gets its node at once. */
static const char *const modules[] = { "/lib/modules/evdev.ko",
				       "/lib/modules/button.ko" };

/* Built-in or already loaded (EEXIST) is fine. */
static void load_modules(void)
{
	size_t i;
	int fd;

	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		fd = open(modules[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 &&
			       errno != EEXIST))
			say(PREFIX "module %s: %s", modules[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
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
	char cmdline[4096], *p;

	cmdline[0] = ' ';	/* so that the first word matches too */
	read_first_line("/proc/cmdline", cmdline + 1, sizeof(cmdline) - 1);
	p = strstr(cmdline, " evmm.cmd=");
	if (p) {
		p += strlen(" evmm.cmd=");
		p[strcspn(p, " ")] = '\0';
		handle_line(p);
	}
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
	mount_one("proc", "/proc", "proc");
	mount_one("sysfs", "/sys", "sysfs");
	mount_one("devtmpfs", "/dev", "devtmpfs");
	mount_one("tmpfs", "/tmp", "tmpfs");
	setup_console();
	setup_signals();
	setup_uevents();
	load_modules();
	setup_power_button();
	report("ready");
	cmdline_command();
	loop();
	return 0;
}
