#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define VCPU_KICK_SIGNAL	SIGUSR1
#define MSR_IA32_MISC_ENABLE	0x1A0
#define MSR_MTRR_DEF_TYPE	0x2FF
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_NMI		4
#define APIC_MODE_EXTINT	7

uint32_t vcpu_apic_id(unsigned int index)
{
	return index;
}

static int vcpu_set_msrs(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} m = {
		.hdr.nmsrs = 2,
		.e = {
			{ .index = MSR_IA32_MISC_ENABLE, .data = 1 },	/* fast strings */
			{ .index = MSR_MTRR_DEF_TYPE, .data = (1 << 11) | 6 },	/* WB */
		},
	};
	int n = ioctl(v->fd, KVM_SET_MSRS, &m);

	return n == 2 ? 0 : (n < 0 ? -errno : -EIO);
}

static void lapic_set_lvt_mode(struct kvm_lapic_state *s, int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &s->regs[reg], 4);
	v = (v & ~0x700U) | (mode << 8);
	memcpy(&s->regs[reg], &v, 4);
}

static int vcpu_set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state s;

	if (ioctl(v->fd, KVM_GET_LAPIC, &s))
		return -errno;
	lapic_set_lvt_mode(&s, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt_mode(&s, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(v->fd, KVM_SET_LAPIC, &s) ? -errno : 0;
}

int vcpu_create(struct vm *vm, unsigned int index)
{
	struct vcpu *v = &vm->vcpus[index];
	int ret;

	/*
	 * KVM can neither destroy a vCPU nor create one twice: a setup that
	 * failed below keeps the fd, and a retry only redoes the setup.
	 */
	if (v->fd < 0) {
		memset(v, 0, sizeof(*v));
		v->vm = vm;
		v->index = index;
		v->apic_id = vcpu_apic_id(index);
		v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, v->apic_id);
		if (v->fd < 0) {
			ret = -errno;
			goto err;
		}
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = -errno;
		goto err;
	}
	ret = cpuid_setup(v);
	if (!ret)
		ret = vcpu_set_msrs(v);
	if (!ret)
		ret = vcpu_set_lapic(v);
	if (ret)
		goto err;
	return 0;
err:
	log_err("vcpu%u: setup failed: %s", index, strerror(-ret));
	if (v->run)
		munmap(v->run, vm->run_size);
	v->run = NULL;
	return ret;
}

static void vcpu_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i;

	/* data_offset and count come from KVM, not the guest: in bounds. */
	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (!bus_access(&v->vm->pio, run->io.port, data, run->io.size,
				out))
			log_debug("vcpu%u: unclaimed port 0x%x", v->index,
				  run->io.port);
	}
}

static void vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (run->mmio.len > sizeof(run->mmio.data))
		return;
	if (!bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			run->mmio.len, run->mmio.is_write))
		log_debug("vcpu%u: unclaimed MMIO 0x%llx", v->index,
			  (unsigned long long)run->mmio.phys_addr);
}

static bool vcpu_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request(v->vm, VM_REQ_POWEROFF);
		return true;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request(v->vm, VM_REQ_REBOOT);
		return true;
	default:
		log_err("vcpu%u: system event %u", v->index,
			v->run->system_event.type);
		vm_request(v->vm, VM_REQ_ERROR);
		return true;
	}
}

/* Where a vCPU stands: for fatal errors and debugging. */
static void vcpu_dump(struct vcpu *v, enum log_level level)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_SREGS, &s))
		return;
	log_msg(level, "vcpu%u: rip=%#llx rsp=%#llx rax=%#llx rbx=%#llx "
		"rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx", v->index, r.rip,
		r.rsp, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi);
	log_msg(level, "vcpu%u: cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx "
		"cs=%#x", v->index, s.cr0, s.cr3, s.cr4, s.efer, s.cs.selector);
}

/* Returns true when the thread must stop. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_io(v);
		return false;
	case KVM_EXIT_MMIO:
		vcpu_mmio(v);
		return false;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return false;
	case KVM_EXIT_SHUTDOWN:	/* triple fault: what a reset does */
		/* Linux reboots through the ACPI reset register: a crash. */
		log_warn("vcpu%u: triple fault, rebooting", v->index);
		vcpu_dump(v, LOG_WARN);
		vm_request(v->vm, VM_REQ_REBOOT);
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		return vcpu_system_event(v);
	case KVM_EXIT_FAIL_ENTRY:
		log_err("vcpu%u: entry failed, reason 0x%llx", v->index,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_err("vcpu%u: KVM internal error, suberror %u", v->index,
			run->internal.suberror);
		break;
	default:
		log_err("vcpu%u: unhandled exit reason %u", v->index,
			run->exit_reason);
		break;
	}
	vcpu_dump(v, LOG_ERROR);
	vm_request(v->vm, VM_REQ_ERROR);
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct seccomp_fds fds = { .kvm = -1, .vm = v->vm->fd, .vcpu = v->fd,
				   .tap = -1 };
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	ret = seccomp_apply_fds(SECCOMP_VCPU, v->vm->seccomp, &fds);
	if (ret) {
		log_err("%s: seccomp: %s", name, strerror(-ret));
		vm_request(v->vm, VM_REQ_ERROR);
		return NULL;
	}
	while (!atomic_load(&v->stop)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/* EINTR: kicked; EAGAIN: an AP got its INIT. */
			if (errno == EAGAIN)
				atomic_store(&v->started, true);
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			log_err("%s: KVM_RUN: %s", name, strerror(errno));
			vm_request(v->vm, VM_REQ_ERROR);
			break;
		}
		/* A plain load per exit; the store happens once. */
		if (!atomic_load_explicit(&v->started, memory_order_relaxed))
			atomic_store(&v->started, true);
		if (vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

/*
 * vCPU threads (and device threads) are created by the spawner, a thread
 * the VMM thread starts before its own filter: so a vCPU thread carries
 * the spawner's filter and its own, not the VMM thread's, which then need
 * not allow KVM_RUN, clone or seccomp. One request at a time, answered
 * under the lock.
 */
struct vcpu_spawn_req {
	pthread_t *thread;
	void *(*fn)(void *);
	void *arg;
	int ret;
	bool done;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vcpu_spawn_req *req;
	bool live;
	int err;	/* the spawner's filter failed: so does every start */
} vcpu_spawn = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void *vcpu_spawner(void *arg)
{
	struct vcpu_spawn_req *r;
	int ret;

	pthread_setname_np(pthread_self(), "evmm-spawn");
	ret = seccomp_apply(SECCOMP_SPAWNER, (int)(intptr_t)arg);
	if (ret)
		log_err("vcpu spawner: seccomp: %s", strerror(-ret));
	pthread_mutex_lock(&vcpu_spawn.lock);
	vcpu_spawn.err = ret;
	for (;;) {
		while (!vcpu_spawn.req)
			pthread_cond_wait(&vcpu_spawn.cond, &vcpu_spawn.lock);
		r = vcpu_spawn.req;
		r->ret = ret ? ret : thread_start(r->thread, r->fn, r->arg);
		r->done = true;
		vcpu_spawn.req = NULL;
		pthread_cond_broadcast(&vcpu_spawn.cond);
	}
	return NULL;
}

int vcpu_spawner_start(int seccomp_mode)
{
	pthread_t t;
	int ret = 0;

	pthread_mutex_lock(&vcpu_spawn.lock);
	if (!vcpu_spawn.live) {
		ret = thread_start(&t, vcpu_spawner,
				   (void *)(intptr_t)seccomp_mode);
		if (!ret) {
			pthread_detach(t);
			vcpu_spawn.live = true;
		}
	}
	pthread_mutex_unlock(&vcpu_spawn.lock);
	return ret;
}

int vcpu_spawn_thread(pthread_t *thread, void *(*fn)(void *), void *arg,
		      int seccomp_mode)
{
	struct vcpu_spawn_req r = { .thread = thread, .fn = fn, .arg = arg };
	int ret = vcpu_spawner_start(seccomp_mode);

	if (ret)
		return ret;
	pthread_mutex_lock(&vcpu_spawn.lock);
	while (vcpu_spawn.req)
		pthread_cond_wait(&vcpu_spawn.cond, &vcpu_spawn.lock);
	vcpu_spawn.req = &r;
	pthread_cond_broadcast(&vcpu_spawn.cond);
	while (!r.done)
		pthread_cond_wait(&vcpu_spawn.cond, &vcpu_spawn.lock);
	pthread_mutex_unlock(&vcpu_spawn.lock);
	return r.ret;
}

int vcpu_start(struct vcpu *v)
{
	int ret;

	atomic_store(&v->stop, false);
	atomic_store(&v->started, false);
	ret = vcpu_spawn_thread(&v->thread, vcpu_thread, v, v->vm->seccomp);
	if (ret)
		return ret;
	v->thread_live = true;
	return 0;
}

void vcpu_stop(struct vcpu *v)
{
	if (!v->thread_live)
		return;
	atomic_store(&v->stop, true);
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	pthread_join(v->thread, NULL);
	v->thread_live = false;
	if (log_threshold >= LOG_DEBUG)
		vcpu_dump(v, LOG_DEBUG);
}

int vcpu_reset_ap(struct vcpu *v)
{
	/* The guest's INIT then resets registers and the LAPIC (in KVM). */
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_UNINITIALIZED };

	if (v->fd < 0 || v->thread_live)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_MP_STATE, &mp) ? -errno : 0;
}

void vcpu_close(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->run_size);
	v->run = NULL;
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}
