/*
 * 16550A UART (COM1): what Linux's 8250 driver needs, with interrupts both
 * ways. Guest output goes to out_fd; host input arrives by serial_input().
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

struct serial *serial_new(int out_fd, serial_irq_fn irq, void *irq_opaque);
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
 * When the receive buffer was full, the guest draining it writes 1 to
 * this eventfd, so the VMM thread resumes reading input.
 */
void serial_set_rx_notify(struct serial *s, int eventfd);
/* The DSDT device: PNP0501 with its port range and IRQ. */
struct aml *serial_aml(struct aml_ctx *ctx, const char *name, uint16_t port,
		       uint8_t irq);

#endif
