/*
 * The KVM tier's test machine: evmm's VM and vCPU code, a payload from
 * firmware/payloads in guest RAM, evmm's serial and PM devices where
 * vmm/machine.c puts them, and recording devices for the payload to talk
 * to (firmware/payloads/payload.h has the addresses).
 *
 * Every wait has a deadline, scaled by CK_TIMEOUT_MULTIPLIER: a guest that
 * goes wrong fails the test instead of hanging it.
 */
#ifndef EVMM_KVM_TEST_H
#define EVMM_KVM_TEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/pm.h"
#include "firmware/payloads/payload.h"
#include "vmm/vm.h"

#define KT_RAM_SIZE	(2ULL << 20)
#define KT_LOG_MAX	4096
#define KT_WAIT_S	5.0	/* per wait, before scaling */
#define KT_STOP_S	1.0	/* vcpu_stop of any vCPU, before scaling */
#define KT_TIMEOUT_S	30	/* Check's timeout of a test case, unscaled */

struct kt_access {
	uint64_t addr;
	uint64_t value;
	uint32_t len;
	bool is_write;
};

/* A device that logs every access; reads return (address + 1). */
struct kt_dev {
	pthread_mutex_t lock;
	uint64_t base;
	struct kt_access log[KT_LOG_MAX];
	atomic_uint count;	/* accesses, also those past KT_LOG_MAX */
};

struct kt {
	struct vm vm;
	unsigned int nvcpus;
	struct kt_dev test;	/* PL_PORT_TEST */
	struct kt_dev report;	/* PL_PORT_REPORT */
	struct kt_dev mmio;	/* PL_MMIO_TEST */
	struct serial *serial;	/* PL_COM1 */
	struct pm pm;		/* PL_PM_BASE */
	int serial_out[2];	/* pipe: what the guest prints */
};

/* Seconds to wait for something that takes milliseconds on real KVM. */
double kt_scale(void);
double kt_now(void);

/* The VM, its devices and nvcpus vCPUs (not started); seccomp on. */
void kt_init(struct kt *t, unsigned int nvcpus);
/* Copies $EVMM_FIRMWARE_DIR/name.bin to PL_BASE. */
void kt_load(struct kt *t, const char *name);
void kt_load_bytes(struct kt *t, uint64_t gpa, const void *code, size_t len);
/* Real mode at cs:ip with %ebx = arg, as the payloads expect. */
void kt_set_real_mode(struct kt *t, unsigned int vcpu, uint16_t cs,
		      uint16_t ip, uint32_t arg);
/* kt_init + kt_load + BSP at 0:PL_BASE + every vCPU started. */
void kt_run(struct kt *t, const char *name, unsigned int nvcpus, uint32_t arg);
void kt_start(struct kt *t);
/* Stops every vCPU, asserting each stop is prompt; then frees everything. */
void kt_finish(struct kt *t);
void kt_stop(struct kt *t);

/* Lets a guest waiting in WAIT_GATE go on. */
void kt_open_gate(struct kt *t);
/* Waits until the device saw n accesses; false at the deadline. */
bool kt_wait_count(struct kt_dev *d, unsigned int n);
/* The i-th access (i < KT_LOG_MAX), copied under the lock. */
struct kt_access kt_access_at(struct kt_dev *d, unsigned int i);
/* Waits for the i-th report and returns its value (fails the test if none). */
uint32_t kt_report(struct kt *t, unsigned int i);
/* Waits for PL_DONE as report i, and that nothing follows it. */
void kt_expect_done(struct kt *t, unsigned int i);
/* Waits for a request on the VM's event fd: VM_REQ_NONE at the deadline. */
enum vm_request kt_wait_request(struct kt *t);
/* Reads strlen(want) bytes of guest serial output: they must be want. */
void kt_expect_serial(struct kt *t, const char *want);

#endif
