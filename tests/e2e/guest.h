/*
 * The e2e harness: runs build/evmm with a Linux guest whose init
 * (firmware/init/init.c) speaks a line protocol on the serial console,
 * which is evmm's stdin and stdout. Every wait is bounded and scaled by
 * CK_TIMEOUT_MULTIPLIER; a failure shows the console's last lines.
 */
#ifndef EVMM_TESTS_E2E_GUEST_H
#define EVMM_TESTS_E2E_GUEST_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define GUEST_TAIL_LINES	40
/*
 * pci=off: a guest enumerating PCI makes a burst of exits with interrupts
 * off, which stalls the nested host (docs/DESIGN.md); e2e_boot/pci and the
 * device tests boot with PCI.
 */
#define GUEST_CMDLINE		"console=ttyS0 quiet panic=-1 pci=off"

/*
 * Base timeouts in seconds, scaled by the multiplier (20 in the nested
 * host, where a boot takes ~10 s). Check scales a tcase's limit alike:
 * the tests set theirs above the sum of these, so the harness fails first.
 */
#define T_BOOT			4.0
#define T_CMD			1.5
#define T_EXIT			1.5
#define T_CLI			1.0
/* Check's message limit, raised for the console's tail. */
#define GUEST_MSG_MAX		(64 * 1024)

struct guest {
	bool started;		/* guest_kill has something to undo */
	pid_t pid;		/* evmm; 0 once reaped */
	int status;		/* its wait status, once reaped */
	int in;			/* evmm's stdin; -1 when closed */
	int out;		/* evmm's stdout and stderr; -1 at EOF */
	char *buf;		/* all it printed, NUL-terminated */
	size_t len, cap;
	size_t cursor;		/* expectations match after this offset */
	struct timespec mark;	/* launch, or the last line sent */
	int boots;		/* ready lines seen */
	char *line;		/* the line guest_expect matched */
	char *output;		/* what the last guest_cmd printed */
	char *value;		/* what guest_value found */
};

/* What init reports on its ready and status lines. */
struct guest_state {
	char present[64];
	char online[64];
	long memtotal_kb;
};

/* EVMM_KERNEL and EVMM_INITRAMFS, or their defaults under build/guest. */
const char *guest_kernel(void);
const char *guest_initramfs(void);
/* CK_TIMEOUT_MULTIPLIER, or 1. */
double guest_scale(void);

/*
 * Starts evmm with the test kernel, initramfs and GUEST_CMDLINE (or
 * EVMM_CMDLINE, to debug a guest) plus the extra arguments, ending with
 * NULL; an extra --kernel, --initramfs or --cmdline replaces the default.
 */
void guest_start(struct guest *g, ...) __attribute__((sentinel));
/* Starts argv as it is (argv[0] is replaced by the evmm binary). */
void guest_spawn(struct guest *g, const char *const *argv);

/* Waits for a line containing s after the cursor; returns it, moves past. */
const char *guest_expect(struct guest *g, const char *s, double timeout_s);
/* Waits for init's ready line, reports boot time, parses it into st. */
void guest_ready(struct guest *g, double timeout_s, struct guest_state *st);
/* Asks init for its status line and parses it into st. */
void guest_status(struct guest *g, struct guest_state *st);
void guest_send(struct guest *g, const char *line);
/* Reads what evmm printed so far into ->buf, without waiting. */
void guest_drain(struct guest *g);
/* Runs a shell command in the guest; returns its status, output in ->output. */
int guest_cmd(struct guest *g, const char *cmd, double timeout_s);
/* Runs cmd, fails unless it exits 0, and returns the text after key. */
const char *guest_query(struct guest *g, const char *cmd, const char *key);
/* The text after key on the first line of the last output starting so. */
const char *guest_value(struct guest *g, const char *key);

/* Reads what evmm printed until EOF or timeout_s (scaled) passes. */
void guest_drain_until(struct guest *g, double timeout_s);
/* Waits for evmm to exit; returns its wait status. */
int guest_wait_exit(struct guest *g, double timeout_s);
void guest_signal(struct guest *g, int sig);
/* SIGKILL, reap, free; harmless on a guest never started or gone. */
void guest_kill(struct guest *g);

/* Seconds since the mark. */
double guest_elapsed(const struct guest *g);

/* A test case with its fixtures and a timeout (scaled by Check itself). */
void guest_add_test(Suite *s, const char *name, const TTest *test,
		    double secs, SFun setup, SFun teardown);

/* Prints each thread of a live evmm: name, state, wait channel, syscall. */
void guest_dump_threads(const struct guest *g);
/* Fails the test with the threads, the message and the console's tail. */
void guest_fail(struct guest *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#define guest_check(g, cond, fmt, ...) do {				\
	if (!(cond))							\
		guest_fail(g, "%s:%d: %s: " fmt, __FILE__, __LINE__,	\
			   #cond, ##__VA_ARGS__);			\
} while (0)

#endif
