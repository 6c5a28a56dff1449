#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acpi/aml.h"
#include "devices/serial.h"

enum {
	REG_DATA = 0, REG_IER = 1, REG_IIR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xC0
#define FCR_FIFO_EN	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	serial_irq_fn irq;
	void *irq_opaque;
	int irq_level;
	int notify_fd;
	bool rx_was_full;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_pending;	/* "THR empty" interrupt not yet acknowledged */
	uint8_t rx[SERIAL_RX_SIZE];
	size_t rx_head, rx_count;
	/*
	 * Output out_fd did not take (EAGAIN), oldest first. While any waits
	 * here, new output goes after it, so the order holds; the VMM thread
	 * writes it out (serial_flush). Pages are touched only on a stall.
	 */
	uint8_t *tx;
	size_t tx_head, tx_count;
	bool tx_dropping;	/* lost output not yet reported by a notify */
	uint64_t tx_dropped;
};

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_EN) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

/* Level semantics: the line follows "an interrupt is pending". */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NONE);

	if (level != s->irq_level) {
		s->irq_level = level;
		s->irq(s->irq_opaque, level);
	}
}

/* Wakes the VMM thread; false if it could not be woken. */
static bool serial_notify(struct serial *s)
{
	uint64_t one = 1;

	return s->notify_fd >= 0 && write(s->notify_fd, &one, sizeof(one)) > 0;
}

/* Input was paused on a full buffer: resume it once half is free. */
static void serial_rx_freed(struct serial *s)
{
	if (s->rx_was_full && s->rx_count < SERIAL_RX_SIZE / 2)
		s->rx_was_full = !serial_notify(s);
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_SIZE;
	s->rx_count--;
	serial_rx_freed(s);
	return c;
}

static void serial_tx_lost(struct serial *s, size_t n)
{
	s->tx_dropped += n;
	if (!s->tx_dropping)
		s->tx_dropping = serial_notify(s);
}

/*
 * Never blocks: out_fd is non-blocking. What it does not take waits in tx
 * for the VMM thread; what does not fit there is lost, not the guest's
 * time (a real UART's line does not stall either).
 */
static void serial_output(struct serial *s, uint8_t c)
{
	ssize_t n;

	if (!s->tx_count) {
		n = write(s->out_fd, &c, 1);
		if (n == 1)
			return;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			serial_tx_lost(s, 1);	/* e.g. EPIPE: no reader */
			return;
		}
		serial_notify(s);
	}
	if (s->tx_count == SERIAL_TX_SIZE || !s->tx) {
		serial_tx_lost(s, 1);
		return;
	}
	s->tx[(s->tx_head + s->tx_count) % SERIAL_TX_SIZE] = c;
	s->tx_count++;
}

static void serial_transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		if (s->rx_count < SERIAL_RX_SIZE) {
			s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_SIZE] = c;
			s->rx_count++;
		}
	} else if (s->out_fd >= 0) {
		serial_output(s, c);
	}
	s->thr_pending = true;
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD (the 8250 probe checks it). */
	return ((m & 1) ? MSR_DSR : 0) | ((m & 2) ? MSR_CTS : 0) |
	       ((m & 4) ? MSR_RI : 0) | ((m & 8) ? MSR_DCD : 0);
}

static uint8_t serial_read(struct serial *s, uint64_t reg)
{
	uint8_t iir;

	switch (reg) {
	case REG_DATA:
		return (s->lcr & LCR_DLAB) ? s->dll : serial_rx_pop(s);
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR:
		iir = serial_iir(s);
		if ((iir & 0x0F) == IIR_THRI)
			s->thr_pending = false;
		return iir;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case REG_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write(struct serial *s, uint64_t reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thr_pending = true;
		s->ier = v & 0x0F;
		break;
	case REG_IIR:
		s->fcr = v & 0xC9;
		if (v & FCR_CLEAR_RX) {
			s->rx_count = s->rx_head = 0;
			serial_rx_freed(s);
		}
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1F;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default:	/* LSR and MSR are read-only */
		break;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	       bool is_write)
{
	struct serial *s = opaque;

	if (offset > REG_SCR || len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write(s, offset, data[0]);
	else
		data[0] = serial_read(s, offset);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	for (n = 0; n < len && s->rx_count < SERIAL_RX_SIZE; n++) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_SIZE] = buf[n];
		s->rx_count++;
	}
	if (s->rx_count == SERIAL_RX_SIZE)
		s->rx_was_full = true;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = SERIAL_RX_SIZE - s->rx_count;
	if (!space)
		s->rx_was_full = true;
	pthread_mutex_unlock(&s->lock);
	return space;
}

void serial_set_notify(struct serial *s, int eventfd)
{
	s->notify_fd = eventfd;
}

int serial_flush(struct serial *s)
{
	size_t len;
	ssize_t n;
	int pending;

	pthread_mutex_lock(&s->lock);
	while (s->tx_count) {
		len = SERIAL_TX_SIZE - s->tx_head;
		if (len > s->tx_count)
			len = s->tx_count;
		n = write(s->out_fd, s->tx + s->tx_head, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			/* The reader is gone: what waits is lost. */
			s->tx_dropped += s->tx_count;
			s->tx_count = 0;
			break;
		}
		s->tx_head = (s->tx_head + n) % SERIAL_TX_SIZE;
		s->tx_count -= n;
		s->tx_dropping = false;
	}
	if (!s->tx_count)
		s->tx_head = 0;
	pending = s->tx_count != 0;
	pthread_mutex_unlock(&s->lock);
	return pending;
}

uint64_t serial_dropped(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->tx_dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static int64_t serial_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* At exit: what waits gets timeout_ms to go out, then it is lost. */
static void serial_drain(struct serial *s, int timeout_ms)
{
	int64_t deadline = serial_now_ms() + timeout_ms, left;
	struct pollfd p = { .fd = s->out_fd, .events = POLLOUT };

	while (serial_flush(s) > 0) {
		left = deadline - serial_now_ms();
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return;
	}
}

void serial_reset(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	s->ier = s->lcr = s->mcr = s->scr = s->fcr = s->dll = s->dlm = 0;
	s->thr_pending = false;
	s->irq_level = 0;
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_new(int out_fd, serial_irq_fn irq, void *irq_opaque)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->irq_opaque = irq_opaque;
	s->notify_fd = -1;
	/* Without it, output that has to wait is lost at once. */
	s->tx = malloc(SERIAL_TX_SIZE);
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	if (s->out_fd >= 0)
		serial_drain(s, SERIAL_DRAIN_MS);
	pthread_mutex_destroy(&s->lock);
	free(s->tx);
	free(s);
}

struct aml *serial_aml(struct aml_ctx *ctx, const char *name, uint16_t port,
		       uint8_t irq)
{
	struct aml *dev = aml_device(ctx, name);
	struct aml *crs = aml_resource_template(ctx);

	aml_append(crs, aml_io(ctx, port, port, 1, 8));
	aml_append(crs, aml_irq_noflags(ctx, irq));
	aml_append(dev, aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0501")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_int(ctx, 0)));
	aml_append(dev, aml_name_decl(ctx, "_CRS", crs));
	return dev;
}
