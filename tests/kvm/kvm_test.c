#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/serial.h"
#include "tests/kvm/kvm_test.h"
#include "vmm/config.h"
#include "vmm/layout.h"
#include "vmm/seccomp.h"
#include "vmm/vcpu.h"

/* payload.h restates evmm's layout for the assembler: keep them equal. */
_Static_assert(PL_COM1 == PORT_COM1, "payload.h: COM1");
_Static_assert(PL_PM_SLEEP_CONTROL == PORT_PM_BASE + PM_SLEEP_CONTROL, "PM");
_Static_assert(PL_PM_SLEEP_STATUS == PORT_PM_BASE + PM_SLEEP_STATUS, "PM");
_Static_assert(PL_PM_RESET == PORT_PM_BASE + PM_RESET, "PM");
_Static_assert(PL_PM_RESET_VALUE == PM_RESET_VALUE, "PM");
_Static_assert(PL_PM_S5_SLP_EN == ((PM_S5 << 2) | PM_SLP_EN), "PM");
_Static_assert(PL_LAPIC == LAYOUT_LAPIC, "payload.h: LAPIC");
_Static_assert(PL_MMIO_TEST >= LAYOUT_MMIO_HOLE &&
	       PL_MMIO_UNCLAIMED < LAYOUT_DEV_BASE, "test MMIO in the hole");
_Static_assert(PL_MMIO_ABOVE_RAM >= KT_RAM_SIZE, "above RAM");

double kt_scale(void)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
	double s = m ? atof(m) : 1.0;

	return s > 0 ? s : 1.0;
}

double kt_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void kt_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* --- recording devices ---------------------------------------------------- */

static void kt_dev_io(void *opaque, uint64_t offset, uint8_t *data,
		      uint32_t len, bool is_write)
{
	struct kt_dev *d = opaque;
	struct kt_access a = { .addr = d->base + offset, .len = len,
			       .is_write = is_write };
	unsigned int n;

	if (is_write) {
		memcpy(&a.value, data, len);
	} else {
		a.value = a.addr + 1;
		memcpy(data, &a.value, len);
		if (len < 8)
			a.value &= (1ULL << (8 * len)) - 1;
	}
	pthread_mutex_lock(&d->lock);
	n = atomic_load(&d->count);
	if (n < KT_LOG_MAX)
		d->log[n] = a;
	/* Published after the entry, so a waiter never reads a stale one. */
	atomic_store(&d->count, n + 1);
	pthread_mutex_unlock(&d->lock);
}

static void kt_dev_add(struct bus *bus, struct kt_dev *d, uint64_t base,
		       uint64_t len)
{
	pthread_mutex_init(&d->lock, NULL);
	d->base = base;
	atomic_store(&d->count, 0);
	ck_assert_int_eq(bus_register(bus, base, len, kt_dev_io, d), 0);
}

bool kt_wait_count(struct kt_dev *d, unsigned int n)
{
	double end = kt_now() + KT_WAIT_S * kt_scale();

	while (atomic_load(&d->count) < n) {
		if (kt_now() > end)
			return false;
		kt_sleep_ms(1);
	}
	return true;
}

struct kt_access kt_access_at(struct kt_dev *d, unsigned int i)
{
	struct kt_access a;

	ck_assert_uint_lt(i, KT_LOG_MAX);
	ck_assert_uint_lt(i, atomic_load(&d->count));
	pthread_mutex_lock(&d->lock);
	a = d->log[i];
	pthread_mutex_unlock(&d->lock);
	return a;
}

uint32_t kt_report(struct kt *t, unsigned int i)
{
	struct kt_access a;

	ck_assert_msg(kt_wait_count(&t->report, i + 1),
		      "no report #%u from the guest (only %u)", i,
		      atomic_load(&t->report.count));
	a = kt_access_at(&t->report, i);
	ck_assert_msg(a.is_write && a.len == 4 && a.addr == PL_PORT_REPORT,
		      "report #%u: %s of %u bytes at %#llx", i,
		      a.is_write ? "write" : "read", a.len,
		      (unsigned long long)a.addr);
	return a.value;
}

void kt_expect_done(struct kt *t, unsigned int i)
{
	ck_assert_uint_eq(kt_report(t, i), PL_DONE);
	ck_assert_uint_eq(atomic_load(&t->report.count), i + 1);
}

/* --- evmm's devices, wired as vmm/machine.c does ------------------------- */

static void kt_serial_irq(void *opaque, int level)
{
	struct kt *t = opaque;

	vm_irq_line(&t->vm, GSI_COM1, level);
}

static void kt_pm_event(void *opaque, enum pm_event e)
{
	struct kt *t = opaque;

	vm_request(&t->vm, e == PM_POWEROFF ? VM_REQ_POWEROFF : VM_REQ_REBOOT);
}

static void kt_add_devices(struct kt *t)
{
	kt_dev_add(&t->vm.pio, &t->test, PL_PORT_TEST, PL_PORT_TEST_LEN);
	kt_dev_add(&t->vm.pio, &t->report, PL_PORT_REPORT, PL_PORT_REPORT_LEN);
	kt_dev_add(&t->vm.mmio, &t->mmio, PL_MMIO_TEST, PL_MMIO_TEST_LEN);

	/* Non-blocking: a guest printing more than the pipe holds loses it. */
	ck_assert_int_eq(pipe2(t->serial_out, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(t->serial_out[1], F_SETFL, O_NONBLOCK), 0);
	t->serial = serial_new(t->serial_out[1], kt_serial_irq, t);
	ck_assert_ptr_nonnull(t->serial);
	ck_assert_int_eq(bus_register(&t->vm.pio, PORT_COM1, 8, serial_io,
				      t->serial), 0);
	pm_init(&t->pm, kt_pm_event, t);
	ck_assert_int_eq(bus_register(&t->vm.pio, PORT_PM_BASE, 3, pm_io,
				      &t->pm), 0);
}

/* --- the VM -------------------------------------------------------------- */

void kt_init(struct kt *t, unsigned int nvcpus)
{
	unsigned int i;

	memset(t, 0, sizeof(*t));
	t->serial_out[0] = t->serial_out[1] = -1;
	ck_assert_int_eq(vcpu_signals_init(), 0);
	/* A blocked syscall then names itself before the test dies. */
	ck_assert_int_eq(seccomp_init_reporting(), 0);
	ck_assert_int_eq(vm_init(&t->vm, nvcpus), 0);
	/* make check's audit pass: log, and the runner reads the kernel log. */
	t->vm.seccomp = getenv("EVMM_E2E_SECCOMP") &&
			!strcmp(getenv("EVMM_E2E_SECCOMP"), "log") ?
			SECCOMP_LOG : SECCOMP_ON;
	ck_assert_int_eq(vm_alloc_ram(&t->vm, KT_RAM_SIZE), 0);
	kt_add_devices(t);
	ck_assert_int_eq(vm_create(&t->vm), 0);
	for (i = 0; i < nvcpus; i++)
		ck_assert_int_eq(vcpu_create(&t->vm, i), 0);
	t->nvcpus = nvcpus;
}

void kt_load_bytes(struct kt *t, uint64_t gpa, const void *code, size_t len)
{
	void *p = vm_gpa_ptr(&t->vm, gpa, len);

	ck_assert_ptr_nonnull(p);
	memcpy(p, code, len);
}

void kt_load(struct kt *t, const char *name)
{
	const char *dir = getenv("EVMM_FIRMWARE_DIR");
	char path[4096];
	struct stat st;
	ssize_t n;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.bin", dir ? dir : "build/firmware",
		 name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s (build it: make firmware)", path,
		      strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	/* Below 64 KiB, all of it reachable from real mode with ds = 0. */
	ck_assert_msg(st.st_size > 0 && st.st_size <= 0x10000 - PL_BASE,
		      "%s: %lld bytes", path, (long long)st.st_size);
	p = vm_gpa_ptr(&t->vm, PL_BASE, st.st_size);
	ck_assert_ptr_nonnull(p);
	n = read(fd, p, st.st_size);
	close(fd);
	ck_assert_int_eq(n, st.st_size);
}

void kt_set_real_mode(struct kt *t, unsigned int vcpu, uint16_t cs,
		      uint16_t ip, uint32_t arg)
{
	int fd = t->vm.vcpus[vcpu].fd;
	struct kvm_regs r = { .rip = ip, .rbx = arg, .rflags = 2 };
	struct kvm_sregs s;

	ck_assert_int_eq(ioctl(fd, KVM_GET_SREGS, &s), 0);
	s.cs.selector = cs;
	s.cs.base = (uint64_t)cs << 4;
	ck_assert_int_eq(ioctl(fd, KVM_SET_SREGS, &s), 0);
	ck_assert_int_eq(ioctl(fd, KVM_SET_REGS, &r), 0);
}

void kt_start(struct kt *t)
{
	unsigned int i;

	for (i = 0; i < t->nvcpus; i++)
		ck_assert_int_eq(vcpu_start(&t->vm.vcpus[i]), 0);
}

void kt_run(struct kt *t, const char *name, unsigned int nvcpus, uint32_t arg)
{
	kt_init(t, nvcpus);
	kt_load(t, name);
	kt_set_real_mode(t, 0, 0, PL_BASE, arg);
	kt_start(t);
}

static void *kt_stop_thread(void *arg)
{
	vcpu_stop(arg);
	return NULL;
}

/* vcpu_stop from a helper thread: a stop that hangs fails the test at once. */
static void kt_stop_vcpu(struct vcpu *v)
{
	double limit = KT_STOP_S * kt_scale(), t0 = kt_now(), dt;
	struct timespec end;
	pthread_t th;
	int ret;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += (time_t)limit + 1;
	ck_assert_int_eq(pthread_create(&th, NULL, kt_stop_thread, v), 0);
	ret = pthread_timedjoin_np(th, NULL, &end);
	dt = kt_now() - t0;
	ck_assert_msg(!ret, "vcpu_stop(vcpu%u) still blocked after %.1f s",
		      v->index, dt);
	ck_assert_msg(dt < limit, "vcpu_stop(vcpu%u) took %.3f s", v->index,
		      dt);
}

void kt_stop(struct kt *t)
{
	unsigned int i;

	for (i = 0; i < t->nvcpus; i++)
		kt_stop_vcpu(&t->vm.vcpus[i]);
}

void kt_finish(struct kt *t)
{
	unsigned int i;

	kt_stop(t);
	for (i = 0; i < t->nvcpus; i++)
		vcpu_close(&t->vm.vcpus[i]);
	vm_free(&t->vm);
	serial_free(t->serial);
	t->serial = NULL;
	for (i = 0; i < 2; i++)
		if (t->serial_out[i] >= 0)
			close(t->serial_out[i]);
	pthread_mutex_destroy(&t->test.lock);
	pthread_mutex_destroy(&t->report.lock);
	pthread_mutex_destroy(&t->mmio.lock);
}

void kt_open_gate(struct kt *t)
{
	uint32_t *gate = vm_gpa_ptr(&t->vm, PL_GATE, sizeof(*gate));

	__atomic_store_n(gate, 1, __ATOMIC_SEQ_CST);
}

enum vm_request kt_wait_request(struct kt *t)
{
	struct pollfd p = { .fd = t->vm.event_fd, .events = POLLIN };
	int ms = KT_WAIT_S * 1000 * kt_scale();

	if (poll(&p, 1, ms) != 1)
		return VM_REQ_NONE;
	return vm_take_request(&t->vm);
}

void kt_expect_serial(struct kt *t, const char *want)
{
	size_t len = strlen(want), got = 0;
	double end = kt_now() + KT_WAIT_S * kt_scale();
	char buf[256];

	ck_assert_uint_lt(len, sizeof(buf));
	while (got < len) {
		struct pollfd p = { .fd = t->serial_out[0], .events = POLLIN };
		int ms = (end - kt_now()) * 1000;
		ssize_t n;

		if (ms <= 0 || poll(&p, 1, ms) != 1)
			break;
		n = read(t->serial_out[0], buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = 0;
	ck_assert_msg(got == len && !memcmp(buf, want, len),
		      "serial output \"%s\", expected \"%s\"", buf, want);
}
