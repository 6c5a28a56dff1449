/*
 * Every guest-reachable register block on real buses, as vmm/machine.c
 * registers them: serial, PM, CPU and memory hotplug on port I/O, the GED
 * in MMIO. The input is a machine shape (vCPUs, memory slots) and a
 * sequence of operations: guest accesses (any address near or between the
 * blocks, sizes 0 to 16, reads and writes) and the VMM thread's actions
 * (plug, remove, take an eject, raise a GED event, serial input, reset).
 *
 * Stale bytes: the whole sequence runs twice on fresh devices, each read's
 * buffer filled with 0xAA the first time and 0x55 the second; devices are
 * deterministic, so every read must return the same bytes both times.
 * Buffers have exactly the access's size, so ASan sees any byte past it.
 * Callbacks: the serial line changes level only, an eject is of a slot the
 * VMM asked to remove (now absent and ejected), PM events follow the one
 * byte write that asks for them, the GED interrupt comes from the VMM side
 * only. Every slot's state stays coherent, and probe blocks right after
 * three devices never see an access that started in their neighbour.
 */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/cpu_hotplug.h"
#include "devices/ged.h"
#include "devices/mem_hotplug.h"
#include "devices/pm.h"
#include "devices/serial.h"
#include "tests/fuzz/fuzz.h"
#include "vmm/bus.h"
#include "vmm/layout.h"

#define MAX_OPS		512
#define MAX_READS	(MAX_OPS * 2)
#define MAX_LEN		16
#define MAX_SLOTS	32	/* of memory, as evmm's hotplug ranges */

struct machine {
	struct bus pio, mmio;
	struct serial *serial;
	struct pm pm;
	struct ged *ged;
	struct cpu_hotplug *cpu;
	struct mem_hotplug *mem;
	unsigned int ncpus, boot, nslots;
	int serial_level;
	bool in_vmm;		/* in a VMM thread action, not a guest access */
	/* The access in progress, for the PM check. */
	uint64_t addr;
	uint32_t len;
	uint8_t first;
	bool is_write, is_pio;
};

/* The reads of one pass, compared with the other pass's. */
struct trace {
	uint8_t bytes[MAX_READS][MAX_LEN];
	uint32_t lens[MAX_READS];
	uint64_t addrs[MAX_READS];
	unsigned int n;
};

static struct trace traces[2];
static int null_fd, rx_fd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (null_fd < 0 || rx_fd < 0)
		abort();
	return 0;
}

static void serial_irq(void *opaque, int level)
{
	struct machine *m = opaque;

	fuzz_assert(level == 0 || level == 1, "serial level %d", level);
	fuzz_assert(level != m->serial_level, "serial level %d twice", level);
	m->serial_level = level;
}

static void pm_event(void *opaque, enum pm_event ev)
{
	struct machine *m = opaque;
	uint64_t off = m->addr - PORT_PM_BASE;

	fuzz_assert(m->is_pio && m->is_write && m->len == 1 &&
		    m->addr >= PORT_PM_BASE, "PM event %d on 0x%llx len %u",
		    ev, (unsigned long long)m->addr, m->len);
	if (ev == PM_POWEROFF)
		fuzz_assert(off == PM_SLEEP_CONTROL &&
			    (m->first & PM_SLP_EN) &&
			    PM_SLP_TYP(m->first) == PM_S5, "poweroff by 0x%x",
			    m->first);
	else
		fuzz_assert(ev == PM_REBOOT && off == PM_RESET &&
			    m->first == PM_RESET_VALUE, "event %d by 0x%x",
			    ev, m->first);
}

static void ged_irq(void *opaque)
{
	struct machine *m = opaque;

	fuzz_assert(m->in_vmm, "GED interrupt from a guest access");
}

static void cpu_ejected(void *opaque, unsigned int cpu)
{
	struct machine *m = opaque;
	struct hp_slot st;

	fuzz_assert(m->is_pio && m->is_write && m->addr >= PORT_CPU_HP,
		    "eject outside a write");
	fuzz_assert(cpu >= m->boot && cpu < m->ncpus, "eject of cpu %u", cpu);
	cpu_hotplug_status(m->cpu, cpu, &st);
	fuzz_assert(st.ejected && !st.enabled && !st.remove_requested,
		    "cpu %u ejected in state e%d r%d", cpu, st.enabled,
		    st.remove_requested);
}

static void mem_ejected(void *opaque, unsigned int slot)
{
	struct machine *m = opaque;
	struct mem_hp_status st;

	fuzz_assert(m->is_pio && m->is_write && m->addr >= PORT_MEM_HP,
		    "eject outside a write");
	fuzz_assert(slot < m->nslots, "eject of slot %u", slot);
	mem_hotplug_status(m->mem, slot, &st);
	fuzz_assert(st.ejected && !st.enabled && !st.remove_requested &&
		    st.size, "slot %u ejected in state e%d r%d", slot,
		    st.enabled, st.remove_requested);
}

/*
 * evmm's blocks have gaps between them; these probes sit right after three
 * of them, so that an access straddling a block's end also reaches a
 * neighbour. The bus must hand it to neither.
 */
#define PROBE_LEN	4

static void probe_io(void *opaque, uint64_t offset, uint8_t *data,
		     uint32_t len, bool is_write)
{
	struct machine *m = opaque;

	fuzz_assert(offset < PROBE_LEN && len <= PROBE_LEN - offset,
		    "probe access at +%llu len %u from 0x%llx",
		    (unsigned long long)offset, len,
		    (unsigned long long)m->addr);
	if (!is_write)
		memset(data, 0x11, len);
}

static void machine_new(struct machine *m, struct fuzz_in *in)
{
	uint32_t apic_ids[255];
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->ncpus = 1 + fuzz_take(in, 1) % 255;
	m->boot = 1 + fuzz_take(in, 1) % m->ncpus;
	m->nslots = 1 + fuzz_take(in, 1) % MAX_SLOTS;
	for (i = 0; i < m->ncpus; i++)
		apic_ids[i] = i % 0xff;
	m->serial = serial_new(null_fd, serial_irq, m);
	pm_init(&m->pm, pm_event, m);
	m->ged = ged_new(ged_irq, m);
	m->cpu = cpu_hotplug_new(m->ncpus, m->boot, apic_ids, cpu_ejected, m);
	m->mem = mem_hotplug_new(m->nslots, mem_ejected, m);
	if (!m->serial || !m->ged || !m->cpu || !m->mem)
		abort();
	serial_set_notify(m->serial, rx_fd);
	if (bus_register(&m->pio, PORT_COM1, 8, serial_io, m->serial) ||
	    bus_register(&m->pio, PORT_PM_BASE, 3, pm_io, &m->pm) ||
	    bus_register(&m->mmio, LAYOUT_GED, GED_MMIO_SIZE, ged_io, m->ged) ||
	    bus_register(&m->pio, PORT_CPU_HP, CPU_HP_IO_SIZE, cpu_hotplug_io,
			 m->cpu) ||
	    bus_register(&m->pio, PORT_MEM_HP, MEM_HP_IO_SIZE, mem_hotplug_io,
			 m->mem) ||
	    bus_register(&m->pio, PORT_PM_BASE + 3, PROBE_LEN, probe_io, m) ||
	    bus_register(&m->pio, PORT_CPU_HP + CPU_HP_IO_SIZE, PROBE_LEN,
			 probe_io, m) ||
	    bus_register(&m->mmio, LAYOUT_GED + GED_MMIO_SIZE, PROBE_LEN,
			 probe_io, m))
		abort();
}

static void machine_free(struct machine *m)
{
	uint64_t v;

	serial_free(m->serial);
	ged_free(m->ged);
	cpu_hotplug_free(m->cpu);
	mem_hotplug_free(m->mem);
	if (read(rx_fd, &v, sizeof(v)) < 0)
		v = 0;	/* nothing was signalled */
}

/* Near a block (before, in, past its end), on its last byte, or anywhere. */
static uint64_t pick_addr(struct fuzz_in *in, bool *is_pio)
{
	static const uint64_t bases[] = {
		PORT_COM1, PORT_PM_BASE, PORT_CPU_HP, PORT_MEM_HP, LAYOUT_GED,
	};
	uint8_t t = fuzz_take(in, 1);
	int8_t off = fuzz_take(in, 1);

	*is_pio = true;
	switch (t % 8) {
	case 5:
		return fuzz_take(in, 2);
	case 6:
		*is_pio = false;
		return fuzz_take(in, 8);
	case 7:	/* the last byte of the serial block, or of the CPU block */
		return t & 8 ? PORT_COM1 + 7 : PORT_CPU_HP + CPU_HP_IO_SIZE - 1;
	default:
		*is_pio = t % 8 != 4;
		return bases[t % 8 % 5] + off;
	}
}

static uint32_t pick_len(struct fuzz_in *in)
{
	static const uint32_t lens[] = { 1, 2, 4, 1, 2, 4, 8, 0, 3, 5, 8, 9,
					 16, 1, 6, 7 };

	return lens[fuzz_take(in, 1) % 16];
}

static void guest_access(struct machine *m, struct fuzz_in *in,
			 struct trace *tr, uint8_t fill, bool is_write)
{
	uint64_t value;
	uint8_t *mem, *buf;
	bool pio;
	uint32_t i;

	m->addr = pick_addr(in, &pio);
	m->is_pio = pio;
	m->len = pick_len(in);
	m->is_write = is_write;
	value = fuzz_take(in, is_write ? 8 : 0);
	/*
	 * The last len bytes of a block, so ASan catches a device touching
	 * more (even with len 0: ASan's malloc(0) has one usable byte).
	 */
	mem = malloc(m->len + 1);
	if (!mem)
		abort();
	buf = mem + 1;
	for (i = 0; i < m->len; i++)
		buf[i] = is_write ? value >> (8 * (i % 8)) : fill;
	m->first = m->len ? buf[0] : 0;
	bus_access(pio ? &m->pio : &m->mmio, m->addr, buf, m->len, is_write);
	if (!is_write && tr->n < MAX_READS) {
		memcpy(tr->bytes[tr->n], buf, m->len);
		tr->lens[tr->n] = m->len;
		tr->addrs[tr->n++] = m->addr;
	}
	free(mem);
	m->is_write = false;
}

/* The VMM thread's side: whatever a resize, a reboot or the console does. */
static void vmm_action(struct machine *m, struct fuzz_in *in, uint8_t op)
{
	unsigned int cpu = fuzz_take(in, 1), slot = cpu % (m->nslots + 1);
	uint8_t bytes[8];
	bool present[255];
	uint64_t v;
	unsigned int i;

	switch (op % 8) {
	case 0:
		cpu_hotplug_plug(m->cpu, cpu);
		break;
	case 1:
		cpu_hotplug_request_remove(m->cpu, cpu);
		break;
	case 2:
		cpu_hotplug_take_ejected(m->cpu, cpu);
		mem_hotplug_take_ejected(m->mem, slot);
		break;
	case 3:
		v = fuzz_take(in, 1);
		mem_hotplug_plug(m->mem, slot, (4ULL << 30) + v * (128 << 20),
				 (1 + v % 4) * (128ULL << 20));
		break;
	case 4:
		mem_hotplug_request_remove(m->mem, slot);
		break;
	case 5:
		ged_raise(m->ged, fuzz_take(in, 1));
		break;
	case 6:
		v = fuzz_take(in, 8);
		memcpy(bytes, &v, sizeof(bytes));
		serial_input(m->serial, bytes, cpu % 9);
		break;
	default:	/* a reboot */
		for (i = 0; i < m->ncpus; i++)
			present[i] = i < m->boot || ((cpu >> (i % 8)) & 1);
		cpu_hotplug_reset(m->cpu, cpu & 1 ? present : NULL);
		mem_hotplug_reset(m->mem, NULL, NULL);
		ged_reset(m->ged);
		serial_reset(m->serial);
		m->serial_level = 0;
		break;
	}
}

/* What every slot's state must satisfy, whatever guest and VMM did. */
static void check_slots(struct machine *m)
{
	struct mem_hp_status ms;
	struct hp_slot cs;
	unsigned int i;

	for (i = 0; i < m->ncpus; i++) {
		cpu_hotplug_status(m->cpu, i, &cs);
		fuzz_assert(i >= m->boot || (cs.enabled && !cs.ejected &&
			    !cs.remove_requested), "boot cpu %u: e%d r%d x%d",
			    i, cs.enabled, cs.remove_requested, cs.ejected);
		fuzz_assert(cs.enabled || (!cs.inserting &&
			    !cs.remove_requested && !cs.removing),
			    "absent cpu %u: i%d r%d", i, cs.inserting,
			    cs.remove_requested);
		fuzz_assert(!cs.ejected || !cs.enabled, "cpu %u", i);
		fuzz_assert(!cs.removing || cs.remove_requested, "cpu %u", i);
	}
	for (i = 0; i < m->nslots; i++) {
		mem_hotplug_status(m->mem, i, &ms);
		fuzz_assert(ms.enabled || (!ms.inserting &&
			    !ms.remove_requested && !ms.removing),
			    "absent slot %u: i%d r%d", i, ms.inserting,
			    ms.remove_requested);
		fuzz_assert(!ms.ejected || !ms.enabled, "slot %u", i);
		fuzz_assert(!ms.removing || ms.remove_requested, "slot %u", i);
		fuzz_assert(!(ms.enabled || ms.ejected) ||
			    (ms.size && ms.base + ms.size > ms.base),
			    "slot %u: [0x%llx +0x%llx)", i,
			    (unsigned long long)ms.base,
			    (unsigned long long)ms.size);
	}
}

static void run(const uint8_t *data, size_t size, struct trace *tr,
		uint8_t fill)
{
	struct fuzz_in in = { data, size };
	struct machine m;
	unsigned int n;

	tr->n = 0;
	machine_new(&m, &in);
	for (n = 0; in.left && n < MAX_OPS; n++) {
		uint8_t op = fuzz_take(&in, 1);

		if (op < 0x60)
			guest_access(&m, &in, tr, fill, false);
		else if (op < 0xC0)
			guest_access(&m, &in, tr, fill, true);
		else {
			m.in_vmm = true;
			vmm_action(&m, &in, op);
			m.in_vmm = false;
		}
		if (n % 16 == 15)
			check_slots(&m);
	}
	check_slots(&m);
	machine_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct trace *a = &traces[0], *b = &traces[1];
	unsigned int i;

	run(data, size, &traces[0], 0xAA);
	run(data, size, &traces[1], 0x55);
	fuzz_assert(a->n == b->n, "%u reads, then %u", a->n, b->n);
	for (i = 0; i < a->n; i++)
		fuzz_assert(a->lens[i] == b->lens[i] &&
			    !memcmp(a->bytes[i], b->bytes[i], a->lens[i]),
			    "read %u of 0x%llx len %u: stale bytes (%02x, %02x)",
			    i, (unsigned long long)a->addrs[i], a->lens[i],
			    a->bytes[i][0], b->bytes[i][0]);
	return 0;
}
