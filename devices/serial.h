/*
 * 16550A UART (COM1): what Linux's 8250 driver needs, with interrupts both
 * ways. Guest output goes to out_fd; host input arrives by serial_input().
 * out_fd must be non-blocking: a vCPU writing to it never waits. What it
 * does not take waits in a SERIAL_TX_SIZE buffer until the VMM thread
 * flushes it; output beyond that is dropped and counted.
 */
#ifndef EVMM_SERIAL_H
#define EVMM_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serial;
struct aml;
struct aml_ctx;

/* Drives the interrupt line: level 1 while an interrupt is pending. */
typedef void (*serial_irq_fn)(void *opaque, int level);

#define SERIAL_RX_SIZE	4096
#define SERIAL_TX_SIZE	(64 * 1024)
/* How long serial_free waits for buffered output to go out. */
#define SERIAL_DRAIN_MS	200

struct serial *serial_new(int out_fd, serial_irq_fn irq, void *irq_opaque);
/* Gives buffered output SERIAL_DRAIN_MS to go out; does not close out_fd. */
void serial_free(struct serial *s);
/* Back to power-on state (guest reboot); keeps buffered input. */
void serial_reset(struct serial *s);
/* The bus handler: 8 byte registers at the port base. */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	       bool is_write);
/* Queues host input; returns the bytes accepted (the rest did not fit). */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
/* Free space in the receive buffer. */
size_t serial_rx_space(struct serial *s);
/*
 * The device writes 1 to this eventfd when the VMM thread has work: the
 * receive buffer that was full is half empty (resume reading input),
 * output waits for out_fd to become writable (call serial_flush), or
 * output was dropped (serial_dropped).
 */
void serial_set_notify(struct serial *s, int eventfd);
/*
 * Writes the buffered output without blocking; 1 if some still waits for
 * out_fd to become writable, 0 if none. Output to a reader that is gone
 * (EPIPE and the like) is dropped.
 */
int serial_flush(struct serial *s);
/* Bytes of guest output lost so far. */
uint64_t serial_dropped(struct serial *s);
/* The DSDT device: PNP0501 with its port range and IRQ. */
struct aml *serial_aml(struct aml_ctx *ctx, const char *name, uint16_t port,
		       uint8_t irq);

#endif
