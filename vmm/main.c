/*
 * evmm's VMM thread: parse the command line, build the machine, then run
 * the event loop that alone changes VM state.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "devices/serial.h"
#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/hotplug.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/seccomp.h"
#include "vmm/term.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"

#define ESCAPE_KEY	0x01	/* Ctrl-A, then 'x' quits, as in QEMU */

struct vmm {
	struct machine m;
	struct control ctl;
	struct api_server *api;
	int epfd;
	int sigfd;
	int serial_notify_fd;	/* the serial device wakes us */
	int in_fd;		/* -1: no console input */
	bool in_paused;		/* the guest's receive buffer is full */
	bool in_tty;
	bool escape;
	int out_fd;		/* console output, non-blocking; -1: none */
	bool out_watched;	/* output waits for out_fd to be writable */
	bool out_is_log;	/* stderr is the console output's file */
	bool drop_logged;
	int exit_code;
	bool quit;
};

enum { EV_SIGNAL, EV_VM, EV_INPUT, EV_SERIAL, EV_API, EV_EJECT, EV_OUTPUT };

static int vmm_seccomp_mode;	/* for the API thread's filter */

static int vmm_watch(struct vmm *v, int fd, uint64_t tag, int op)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(v->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev);
}

/* Returns how many bytes of buf go to the guest after the escape filter. */
static size_t vmm_escape(struct vmm *v, uint8_t *buf, size_t n)
{
	size_t i, out = 0;

	for (i = 0; i < n; i++) {
		if (v->escape) {
			v->escape = false;
			if (buf[i] == 'x') {
				v->quit = true;
				return out;
			}
			if (buf[i] != ESCAPE_KEY)
				buf[out++] = ESCAPE_KEY;
		} else if (buf[i] == ESCAPE_KEY) {
			v->escape = true;
			continue;
		}
		buf[out++] = buf[i];
	}
	return out;
}

static void vmm_input(struct vmm *v)
{
	uint8_t buf[SERIAL_RX_SIZE];
	size_t space = serial_rx_space(v->m.serial);
	ssize_t n;

	if (!space) {
		/* Resumed by the serial device's notify when the guest reads. */
		vmm_watch(v, v->in_fd, EV_INPUT, EPOLL_CTL_DEL);
		v->in_paused = true;
		return;
	}
	n = read(v->in_fd, buf, MIN(space, sizeof(buf)));
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		vmm_watch(v, v->in_fd, EV_INPUT, EPOLL_CTL_DEL);
		v->in_fd = -1;	/* EOF: the guest keeps running */
		return;
	}
	if (v->in_tty)
		n = vmm_escape(v, buf, n);
	serial_input(v->m.serial, buf, n);
}

/* Said once: guest output is lost because it cannot be written. */
static void vmm_output_dropped(struct vmm *v, bool drained)
{
	/* A log line to a stderr that is the stalled console would block. */
	if (v->drop_logged || (v->out_is_log && !drained) ||
	    !serial_dropped(v->m.serial))
		return;
	v->drop_logged = true;
	log_warn("console: guest output is being lost: its reader is too "
		 "slow, stopped or gone (evmm holds %d KiB of it)",
		 SERIAL_TX_SIZE / 1024);
}

/* Output the console did not take: written as out_fd becomes writable. */
static void vmm_output(struct vmm *v)
{
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u64 = EV_OUTPUT };
	bool pending = serial_flush(v->m.serial) > 0;

	if (pending != v->out_watched) {
		if (!epoll_ctl(v->epfd, pending ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
			       v->out_fd, pending ? &ev : NULL))
			v->out_watched = pending;
		else if (pending)
			log_warn("console: cannot wait for its output: %s",
				 strerror(errno));
	}
	vmm_output_dropped(v, !pending);
}

static void vmm_serial_notify(struct vmm *v)
{
	uint64_t val;

	if (read(v->serial_notify_fd, &val, sizeof(val)) < 0)
		return;
	if (v->in_paused && v->in_fd >= 0 && serial_rx_space(v->m.serial)) {
		v->in_paused = false;
		vmm_watch(v, v->in_fd, EV_INPUT, EPOLL_CTL_ADD);
	}
	if (v->out_fd >= 0)
		vmm_output(v);
}

static void vmm_signal(struct vmm *v)
{
	struct signalfd_siginfo si;

	if (read(v->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("%s: stopping the guest", strsignal(si.ssi_signo));
	v->exit_code = 0;
	v->quit = true;
}

static void vmm_vm_event(struct vmm *v)
{
	char err[256];

	switch (machine_take_request(&v->m)) {
	case VM_REQ_NONE:
		break;
	case VM_REQ_POWEROFF:
		log_info("guest powered off");
		v->exit_code = 0;
		v->quit = true;
		break;
	case VM_REQ_REBOOT:
		log_info("guest reboot");
		if (machine_reboot(&v->m, err, sizeof(err))) {
			log_err("reboot failed: %s", err);
			v->exit_code = 1;
			v->quit = true;
		}
		break;
	case VM_REQ_ERROR:
		log_err("the guest was stopped after a fatal vCPU error");
		v->exit_code = 1;
		v->quit = true;
		break;
	}
}

static void vmm_api(struct vmm *v)
{
	api_server_dispatch(v->api);
	if (v->ctl.quit) {
		log_info("vmm.shutdown: stopping the guest");
		v->exit_code = 0;
		v->quit = true;
	}
}

static void vmm_loop(struct vmm *v)
{
	struct epoll_event ev[8];
	int i, n;

	while (!v->quit) {
		n = epoll_wait(v->epfd, ev, 8, -1);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			v->exit_code = 1;
			return;
		}
		for (i = 0; i < n && !v->quit; i++) {
			switch (ev[i].data.u64) {
			case EV_SIGNAL: vmm_signal(v); break;
			case EV_VM: vmm_vm_event(v); break;
			case EV_INPUT: vmm_input(v); break;
			case EV_SERIAL: vmm_serial_notify(v); break;
			case EV_OUTPUT: vmm_output(v); break;
			case EV_API: vmm_api(v); break;
			case EV_EJECT: hotplug_reap(&v->m); break;
			}
		}
	}
}

/* Non-blocking: a vCPU writes guest output to it and must never wait. */
static int vmm_serial_fd(const struct config *cfg)
{
	int fd;

	switch (cfg->serial) {
	case SERIAL_TTY:
		return term_out_fd(STDOUT_FILENO);
	case SERIAL_FILE:
		fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_APPEND |
			  O_CLOEXEC, 0644);
		if (fd < 0)
			die("--serial: %s: %s; accepted form: tty|off|file=PATH",
			    cfg->serial_path, strerror(errno));
		/* Our own open file: its flags are ours (a FIFO, a tty). */
		if (fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK))
			die("--serial: %s: %s", cfg->serial_path,
			    strerror(errno));
		return fd;
	default:
		return -1;
	}
}

static bool vmm_same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * Signals go to the signalfd; every thread inherits the mask. Fatal ones
 * restore the terminal first. A console file over RLIMIT_FSIZE loses
 * output (EFBIG), it does not kill the guest.
 */
static int vmm_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	if (term_catch_signals())
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int vmm_api_thread_init(void)
{
	return seccomp_apply(SECCOMP_API, vmm_seccomp_mode);
}

/* Before the VMM's own filter: the API thread has only its own. */
static void vmm_start_api(struct vmm *v, const struct config *cfg)
{
	char err[512];

	if (!cfg->api_socket)
		return;
	v->ctl.m = &v->m;
	vmm_seccomp_mode = cfg->seccomp;
	if (api_server_start(&v->api, cfg->api_socket, vmm_api_thread_init,
			     control_handle, &v->ctl, err, sizeof(err)))
		die("--api-socket: %s; accepted form: PATH or path=PATH", err);
	if (vmm_watch(v, api_server_event_fd(v->api), EV_API, EPOLL_CTL_ADD))
		die("epoll: %s", strerror(errno));
}

static void vmm_setup(struct vmm *v, const struct config *cfg)
{
	struct seccomp_fds vmm_fds = { .kvm = -1, .vm = -1, .vcpu = -1,
				       .tap = -1 };
	char err[512];
	int ret;

	v->sigfd = vmm_signals();
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->serial_notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->sigfd < 0 || v->epfd < 0 || v->serial_notify_fd < 0 ||
	    vcpu_signals_init() || seccomp_init_reporting())
		die("setting up the event loop: %s", strerror(errno));
	v->out_fd = vmm_serial_fd(cfg);
	v->out_is_log = v->out_fd >= 0 && vmm_same_file(v->out_fd,
							 STDERR_FILENO);
	if (machine_init(&v->m, cfg, v->out_fd, err, sizeof(err)))
		die("%s", err);
	serial_set_notify(v->m.serial, v->serial_notify_fd);
	vmm_fds.kvm = v->m.vm.kvm_fd;
	v->in_fd = cfg->serial == SERIAL_TTY ? STDIN_FILENO : -1;
	if (vmm_watch(v, v->sigfd, EV_SIGNAL, EPOLL_CTL_ADD) ||
	    vmm_watch(v, v->m.vm.event_fd, EV_VM, EPOLL_CTL_ADD) ||
	    vmm_watch(v, v->serial_notify_fd, EV_SERIAL, EPOLL_CTL_ADD) ||
	    vmm_watch(v, v->m.eject_fd, EV_EJECT, EPOLL_CTL_ADD))
		die("epoll: %s", strerror(errno));
	if (v->in_fd >= 0 && vmm_watch(v, v->in_fd, EV_INPUT, EPOLL_CTL_ADD))
		v->in_fd = -1;	/* e.g. /dev/null: not pollable, no input */
	/* Before any filter: each allows this fd's mode to be restored. */
	if (v->in_fd >= 0)
		v->in_tty = term_raw(v->in_fd);
	vmm_start_api(v, cfg);
	ret = vcpu_spawner_start(cfg->seccomp);
	if (ret)
		die("cannot start the vCPU spawner thread: %s", strerror(-ret));
	if (seccomp_apply_fds(SECCOMP_VMM, cfg->seccomp, &vmm_fds))
		die("--seccomp: cannot install the filter; accepted form: "
		    "true|false|log");
	if (machine_start(&v->m, err, sizeof(err)))
		die("%s", err);
}

int main(int argc, char **argv)
{
	static struct vmm v = { .in_fd = -1 };
	struct config cfg;
	char err[512];
	int ret;

	ret = config_parse(&cfg, argc, argv, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "evmm: %s\n", err);
		return 1;
	}
	if (ret == CONFIG_EXIT)
		return 0;
	log_threshold = cfg.log_level;
	log_nonblocking();
	/*
	 * One malloc arena: our threads allocate little and rarely, and each
	 * arena of its own costs a thread ~50 KiB of touched memory.
	 */
	mallopt(M_ARENA_MAX, 1);
	vmm_setup(&v, &cfg);
	vmm_loop(&v);
	api_server_stop(v.api);
	machine_free(&v.m);
	config_free(&cfg);
	term_restore();
	return v.exit_code;
}
