#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/term.h"
#include "vmm/util.h"

static struct termios term_saved;
static volatile sig_atomic_t term_fd = -1;
static int term_flags;			/* term_flags_fd's flags before us */
static volatile sig_atomic_t term_flags_fd = -1;

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

/*
 * From any thread: every seccomp filter allows TCSETS* and F_SETFL on
 * these two fds (vmm/seccomp.c), so a SIGSYS report restores them too.
 */
void term_restore(void)
{
	term_apply();
}

int term_get_fd(void)
{
	return term_fd;
}

int term_get_flags_fd(void)
{
	return term_flags_fd;
}

/* SA_RESETHAND made the action the default one: it kills on return. */
static void term_fatal(int sig)
{
	term_restore();
	raise(sig);
}

int term_catch_signals(void)
{
	struct sigaction fatal = {
		.sa_handler = term_fatal,
		.sa_flags = SA_RESETHAND,
	};
	size_t i;

	sigemptyset(&fatal.sa_mask);
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
