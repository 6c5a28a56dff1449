#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/term.h"
#include "vmm/util.h"

/* How long another thread waits for the VMM thread's restore. */
#define TERM_FORWARD_MS	500

static struct termios term_saved;
static volatile sig_atomic_t term_fd = -1;
static int term_flags;			/* term_flags_fd's flags before us */
static volatile sig_atomic_t term_flags_fd = -1;
static pid_t term_owner;		/* the thread allowed to restore */
static int term_forward_sig;
static atomic_int term_done;

/* Signals whose default action kills: the terminal must not stay raw. */
static const int term_fatal_sigs[] = {
	SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT, SIGTRAP, SIGXCPU,
};

static void term_apply(void)
{
	int saved = errno;

	if (term_fd >= 0)
		tcsetattr(term_fd, TCSANOW, &term_saved);
	if (term_flags_fd >= 0)
		fcntl(term_flags_fd, F_SETFL, term_flags);
	errno = saved;
}

void term_restore(void)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	if (term_fd < 0 && term_flags_fd < 0)
		return;
	if (!term_owner || gettid() == term_owner) {
		term_apply();
		return;
	}
	/* Only the VMM thread's filter allows TCSETS and fcntl. */
	atomic_store(&term_done, 0);
	if (tgkill(getpid(), term_owner, term_forward_sig))
		return;
	for (i = 0; i < TERM_FORWARD_MS && !atomic_load(&term_done); i++)
		nanosleep(&ms, NULL);
}

/* On the VMM thread, at another thread's request. */
static void term_forwarded(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code != SI_TKILL || si->si_pid != getpid())
		return;
	term_apply();
	atomic_store(&term_done, 1);
}

/* SA_RESETHAND made the action the default one: it kills on return. */
static void term_fatal(int sig)
{
	term_restore();
	raise(sig);
}

int term_catch_signals(void)
{
	struct sigaction fwd = {
		.sa_sigaction = term_forwarded,
		.sa_flags = SA_SIGINFO | SA_RESTART,
	};
	struct sigaction fatal = {
		.sa_handler = term_fatal,
		.sa_flags = SA_RESETHAND,
	};
	size_t i;

	term_owner = gettid();
	term_forward_sig = SIGRTMIN;
	sigemptyset(&fwd.sa_mask);
	sigemptyset(&fatal.sa_mask);
	if (sigaction(term_forward_sig, &fwd, NULL))
		return -errno;
	for (i = 0; i < ARRAY_SIZE(term_fatal_sigs); i++)
		if (sigaction(term_fatal_sigs[i], &fatal, NULL))
			return -errno;
	return 0;
}

int term_raw(int fd)
{
	struct termios t;

	if (!isatty(fd) || tcgetattr(fd, &term_saved))
		return 0;
	t = term_saved;
	cfmakeraw(&t);
	/* Saved before the change: a signal in between still restores. */
	term_fd = fd;
	if (tcsetattr(fd, TCSANOW, &t)) {
		term_fd = -1;
		return 0;
	}
	atexit(term_restore);
	return 1;
}

int term_out_fd(int fd)
{
	char path[32];
	struct stat st;
	int flags, nfd;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_NONBLOCK) || fstat(fd, &st) ||
	    S_ISREG(st.st_mode))
		return fd;	/* a regular file never blocks for long */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (nfd >= 0)
		return nfd;
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return fd;
	term_flags = flags;
	term_flags_fd = fd;
	atexit(term_restore);
	return fd;
}
