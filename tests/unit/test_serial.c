/*
 * The console's serial device against a host that stops reading: output
 * never blocks a vCPU, waits in order, and what does not fit is counted.
 * And the receive path's notify survives the guest clearing the FIFO.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/serial.h"
#include "vmm/term.h"
#include "vmm/util.h"

#define REG_DATA	0
#define REG_FCR		2
#define FCR_ENABLE_CLEAR 0x07	/* FIFO on, clear RX and TX: 8250 open */

static void no_irq(void *opaque, int level)
{
	(void)opaque;
	(void)level;
}

static void wr(struct serial *s, uint64_t reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

static uint8_t pattern(size_t i)
{
	return 'a' + (i * 7 + i / 26) % 26;
}

/* Reads everything the pipe holds now; returns the byte count. */
static size_t drain(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	int avail;

	while (got < cap && !ioctl(fd, FIONREAD, &avail) && avail > 0) {
		ssize_t n = read(fd, buf + got, MIN((size_t)avail, cap - got));

		ck_assert_int_gt(n, 0);
		got += n;
	}
	return got;
}

/* Linux's 8250 driver clears the FIFOs when the port is opened. */
START_TEST(serial_fcr_clear_resumes_input)
{
	struct serial *s = serial_new(-1, no_irq, NULL);
	uint8_t big[SERIAL_RX_SIZE];
	int efd = eventfd(0, EFD_NONBLOCK);
	uint64_t v = 0;

	ck_assert_int_ge(efd, 0);
	serial_set_notify(s, efd);
	memset(big, 'z', sizeof(big));
	ck_assert_uint_eq(serial_input(s, big, sizeof(big)), SERIAL_RX_SIZE);
	/* The VMM thread sees no room and stops reading input. */
	ck_assert_uint_eq(serial_rx_space(s), 0);
	wr(s, REG_FCR, FCR_ENABLE_CLEAR);
	ck_assert_uint_eq(serial_rx_space(s), SERIAL_RX_SIZE);
	ck_assert_msg(read(efd, &v, sizeof(v)) == sizeof(v) && v == 1,
		      "clearing the full receive FIFO did not wake the VMM "
		      "thread: input stays paused for good");
	serial_free(s);
	close(efd);
}
END_TEST

static uint8_t *sent;
static size_t nsent;

static void send_bytes(struct serial *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, nsent++) {
		sent[nsent] = pattern(nsent);
		wr(s, REG_DATA, sent[nsent]);
	}
}

/*
 * A pipe nobody reads, as evmm's stdout: transmitting returns (the Check
 * timeout bounds it), the pipe's own flags stay blocking for whoever
 * shares it, output flushes in order once the reader drains, and what
 * did not fit is dropped and counted.
 */
START_TEST(serial_stalled_pipe_never_blocks)
{
	const size_t extra = 1000, tail = 300;
	size_t cap = 4096 + SERIAL_TX_SIZE + extra + tail, got = 0, piped;
	uint8_t *out = malloc(cap);
	int p[2], fd, efd = eventfd(0, EFD_NONBLOCK), avail = 0;
	struct serial *s;
	uint64_t v = 0, dropped;

	sent = malloc(cap);
	nsent = 0;
	ck_assert(out && sent && efd >= 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	fd = term_out_fd(p[1]);
	s = serial_new(fd, no_irq, NULL);
	serial_set_notify(s, efd);

	send_bytes(s, 4096 + SERIAL_TX_SIZE + extra);
	ck_assert_int_eq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(ioctl(p[0], FIONREAD, &avail), 0);
	piped = avail;
	ck_assert_uint_ge(piped, 1);
	/* The VMM thread was woken to flush when writable. */
	ck_assert_int_eq(read(efd, &v, sizeof(v)), sizeof(v));
	ck_assert_uint_eq(serial_flush(s), 1);
	dropped = serial_dropped(s);
	ck_assert_uint_eq(dropped, nsent - piped - SERIAL_TX_SIZE);

	while (got < piped + SERIAL_TX_SIZE) {
		got += drain(p[0], out + got, cap - got);
		if (!serial_flush(s))
			break;
	}
	got += drain(p[0], out + got, cap - got);
	ck_assert_uint_eq(got, piped + SERIAL_TX_SIZE);
	ck_assert_msg(!memcmp(out, sent, got), "buffered output out of order");

	/* Writable again: new output goes straight out, after the gap. */
	send_bytes(s, tail);
	ck_assert_uint_eq(serial_flush(s), 0);
	ck_assert_uint_eq(drain(p[0], out, cap), tail);
	ck_assert(!memcmp(out, sent + nsent - tail, tail));
	ck_assert_uint_eq(serial_dropped(s), dropped);

	serial_free(s);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(efd);
	free(out);
	free(sent);
}
END_TEST

/* The reader goes away: what waits is dropped, nothing spins. */
START_TEST(serial_reader_gone_drops_buffer)
{
	int p[2], fd;
	struct serial *s;

	signal(SIGPIPE, SIG_IGN);	/* as evmm does */
	sent = malloc(8192 + 10);
	nsent = 0;
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	fd = term_out_fd(p[1]);
	s = serial_new(fd, no_irq, NULL);
	send_bytes(s, 8192);
	ck_assert_uint_eq(serial_flush(s), 1);
	close(p[0]);
	ck_assert_uint_eq(serial_flush(s), 0);
	ck_assert_uint_eq(serial_dropped(s), 4096);
	send_bytes(s, 10);
	ck_assert_uint_eq(serial_dropped(s), 4106);
	serial_free(s);
	close(fd);
	close(p[1]);
	free(sent);
}
END_TEST

Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("serial");

	/* A blocking write would hang: the timeout turns that into a failure. */
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, serial_fcr_clear_resumes_input);
	tcase_add_test(tc, serial_stalled_pipe_never_blocks);
	tcase_add_test(tc, serial_reader_gone_drops_buffer);
	suite_add_tcase(s, tc);
	return s;
}
