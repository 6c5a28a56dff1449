#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/term.h"

static struct termios term_saved;
static int term_fd = -1;

void term_restore(void)
{
	if (term_fd >= 0)
		tcsetattr(term_fd, TCSANOW, &term_saved);
}

int term_get_fd(void)
{
	return term_fd;
}

int term_raw(int fd)
{
	struct termios t;

	if (!isatty(fd) || tcgetattr(fd, &term_saved))
		return 0;
	t = term_saved;
	cfmakeraw(&t);
	/* Keep output post-processing off: the guest sends its own CR LF. */
	if (tcsetattr(fd, TCSANOW, &t))
		return 0;
	term_fd = fd;
	atexit(term_restore);
	return 1;
}
