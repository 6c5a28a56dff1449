/*
 * API requests on the VMM thread. Statuses follow Cloud Hypervisor: 204 for
 * an accepted action, 200 with JSON for reads, 400 for values out of range,
 * 409 for an action the VM's state does not allow, 429 while a removal waits
 * for the guest, 500 when evmm itself failed (the VM is left as it was).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/cpu_hotplug.h"
#include "devices/ged.h"
#include "devices/mem_hotplug.h"
#include "devices/virtio_net.h"
#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/hotplug.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/tap.h"
#include "vmm/vcpu.h"

static void control_reply_json(struct api_reply *r, json_t *body)
{
	r->status = 200;
	r->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (!r->body)
		api_reply_error(r, 500, NULL, "out of memory");
	json_decref(body);
}

static void control_ping(struct api_reply *r)
{
	control_reply_json(r, json_pack("{s:s, s:s, s:I, s:[ss]}",
		"build_version", EVMM_VERSION, "version", EVMM_VERSION,
		"pid", (json_int_t)getpid(), "features", "kvm",
		"acpi_hotplug"));
}

/* The guest's last _OST of a slot, which tells why an eject failed. */
static json_t *control_ost(json_t *v, bool valid, uint32_t event,
			   uint32_t status)
{
	if (v && valid)
		json_object_set_new(v, "ost", json_pack("{s:I, s:I}",
			"event", (json_int_t)event,
			"status", (json_int_t)status));
	return v;
}

/* One vCPU slot. */
static json_t *control_vcpu(struct machine *m, unsigned int i)
{
	struct hp_slot st;
	json_t *v = json_pack("{s:I, s:I, s:s}", "id", (json_int_t)i,
		"apic_id", (json_int_t)vcpu_apic_id(i),
		"state", hotplug_cpu_state_name(hotplug_cpu_state(m, i)));

	cpu_hotplug_status(m->cpu_hp, i, &st);
	return control_ost(v, st.ost_valid, st.ost_event, st.ost_status);
}

static json_t *control_vcpus(struct machine *m)
{
	json_t *list = json_array();
	unsigned int i;

	for (i = 0; list && i < m->cfg->max_vcpus; i++)
		json_array_append_new(list, control_vcpu(m, i));
	return list;
}

/* One hotplugged RAM range. */
static json_t *control_mem_slot(struct machine *m, unsigned int i)
{
	const struct vm_ram *r = &m->vm.hp_ram[i];
	struct mem_hp_status st;
	json_t *v = json_pack("{s:I, s:I, s:I, s:s}", "id", (json_int_t)i,
		"base", (json_int_t)r->gpa, "size", (json_int_t)r->size,
		"state", hotplug_mem_state_name(hotplug_mem_state(m, i)));

	mem_hotplug_status(m->mem_hp, i, &st);
	return control_ost(v, st.ost_valid, st.ost_event, st.ost_status);
}

static json_t *control_memory(struct machine *m)
{
	json_t *slots = json_array();
	struct hotplug_mem st;
	unsigned int i;

	for (i = 0; slots && i < m->mem_slots; i++)
		if (hotplug_mem_state(m, i) != HP_MEM_ABSENT)
			json_array_append_new(slots, control_mem_slot(m, i));
	hotplug_mem_status(m, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:b, s:I, s:o}",
		"boot", (json_int_t)st.boot, "current", (json_int_t)st.current,
		"requested", (json_int_t)st.requested,
		"max", (json_int_t)st.max, "pending", st.pending,
		"slots_max", (json_int_t)m->mem_slots, "slots", slots);
}

/*
 * Paths and the command line need not be UTF-8 but JSON must: then their
 * bytes above 0x7F read '?'. NULL stays NULL ("o*" leaves the key out).
 */
static json_t *control_text(const char *s)
{
	json_t *v;
	char *copy;
	size_t i;

	if (!s)
		return NULL;
	v = json_string(s);
	if (v)
		return v;
	copy = strdup(s);
	for (i = 0; copy && copy[i]; i++)
		if ((unsigned char)copy[i] > 0x7F)
			copy[i] = '?';
	v = copy ? json_string(copy) : NULL;
	free(copy);
	return v;
}

/* As Cloud Hypervisor prints a PCI address: segment 0, bus 0, function 0. */
static json_t *control_bdf(unsigned int slot)
{
	char bdf[16];

	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", 0, 0, slot, 0);
	return json_string(bdf);
}

/* Cloud Hypervisor's DiskConfig fields, and the device's PCI address. */
static json_t *control_disk(const struct config *c, unsigned int i)
{
	const struct config_disk *d = &c->disks[i];

	return json_pack("{s:o, s:b, s:b, s:I, s:I, s:s, s:s*, s:s, s:i, s:o}",
		"path", control_text(d->path), "readonly", d->readonly,
		"direct", d->direct, "num_queues", (json_int_t)d->num_queues,
		"queue_size", (json_int_t)d->queue_size, "id", d->id,
		"serial", *d->serial ? d->serial : NULL, "image_type", "Raw",
		"pci_segment", 0, "bdf", control_bdf(config_disk_slot(c, i)));
}

static void control_mac(char *out, const uint8_t *b)
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5]);
}

/*
 * Cloud Hypervisor's NetConfig fields, and the device's PCI address. As
 * in CH, tap and host_mac are the tap's own once it is open (a tap evmm
 * created, the MAC the kernel gave it); keys without a value are left
 * out, as ip and mask are.
 */
static json_t *control_net(const struct machine *m, unsigned int i)
{
	const struct config_net *n = &m->cfg->nets[i];
	const struct tap *t = i < m->ntaps ? &m->taps[i] : NULL;
	char mac[18], host_mac[18], ip[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN];
	const char *tap = t ? t->name : n->tap;

	control_mac(mac, n->mac);
	control_mac(host_mac, t ? t->host_mac : n->host_mac);
	inet_ntop(AF_INET, &n->ip, ip, sizeof(ip));
	inet_ntop(AF_INET, &n->mask, mask, sizeof(mask));
	return json_pack("{s:s*, s:s*, s:s*, s:s, s:s*, s:o*, s:I, s:I, s:s, "
			 "s:b, s:b, s:b, s:i, s:o}",
		"tap", *tap ? tap : NULL, "ip", n->has_ip ? ip : NULL,
		"mask", n->has_ip ? mask : NULL, "mac", mac,
		"host_mac", t || n->has_host_mac ? host_mac : NULL,
		"mtu", n->mtu ? json_integer(n->mtu) : NULL,
		"num_queues", (json_int_t)n->num_queues,
		"queue_size", (json_int_t)n->queue_size, "id", n->id,
		"offload_tso", n->offload_tso, "offload_ufo", n->offload_ufo,
		"offload_csum", n->offload_csum, "pci_segment", 0,
		"bdf", control_bdf(config_net_slot(m->cfg, i)));
}

/* As Cloud Hypervisor: no "disks" or "net" key without such devices. */
static int control_devices(json_t *config, const struct machine *m)
{
	const struct config *c = m->cfg;
	json_t *disks = c->ndisks ? json_array() : NULL;
	json_t *nets = c->nnets ? json_array() : NULL;
	unsigned int i;
	int ret = 0;

	for (i = 0; !ret && i < c->ndisks; i++)
		ret = json_array_append_new(disks, control_disk(c, i));
	for (i = 0; !ret && i < c->nnets; i++)
		ret = json_array_append_new(nets, control_net(m, i));
	if (!ret && disks)
		ret = json_object_set(config, "disks", disks);
	if (!ret && nets)
		ret = json_object_set(config, "net", nets);
	json_decref(disks);
	json_decref(nets);
	return ret;
}

static json_t *control_config(struct machine *m)
{
	const struct config *c = m->cfg;
	json_t *config;

	/* Like CH, boot_vcpus and size are what the next boot starts with. */
	config = json_pack("{s:{s:I, s:I}, s:{s:I, s:I, s:s}, s:{s:o, s:o*, s:o}}",
		"cpus", "boot_vcpus", (json_int_t)m->cpus_requested,
		"max_vcpus", (json_int_t)c->max_vcpus,
		"memory", "size", (json_int_t)m->mem_requested,
		"hotplug_size", (json_int_t)c->hotplug_size,
		"hotplug_method", "Acpi",
		"payload", "kernel", control_text(c->kernel),
		"initramfs", control_text(c->initramfs),
		"cmdline", control_text(c->cmdline));
	if (config && control_devices(config, m)) {
		json_decref(config);
		return NULL;
	}
	return config;
}

/*
 * Cloud Hypervisor's vm.counters: per device id, its counters; a network
 * card's frames and bytes each way (CH's names), and evmm's drops.
 */
static json_t *control_net_counters(const struct virtio_net *n)
{
	struct virtio_net_stats s;

	virtio_net_stats(n, &s);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
		"rx_bytes", (json_int_t)s.rx_bytes,
		"rx_frames", (json_int_t)s.rx_frames,
		"rx_dropped", (json_int_t)s.rx_dropped,
		"tx_bytes", (json_int_t)s.tx_bytes,
		"tx_frames", (json_int_t)s.tx_frames,
		"tx_dropped", (json_int_t)s.tx_dropped);
}

static void control_counters(struct machine *m, struct api_reply *r)
{
	json_t *o = json_object();
	unsigned int i;
	int ret = !o;

	for (i = 0; !ret && m->nets && i < m->ntaps; i++)
		ret = m->nets[i] &&
		      json_object_set_new(o, m->cfg->nets[i].id,
					  control_net_counters(m->nets[i]));
	if (ret) {
		json_decref(o);
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	control_reply_json(r, o);
}

static void control_info(struct machine *m, struct api_reply *r)
{
	struct hotplug_cpus st;
	struct hotplug_mem mem;

	hotplug_cpus_status(m, &st);
	hotplug_mem_status(m, &mem);
	control_reply_json(r, json_pack(
		"{s:o, s:s, s:I, s:{s:{s:I, s:I, s:I, s:I, s:b, s:o}, s:o}}",
		"config", control_config(m),
		"state", m->running ? "Running" : "Shutdown",
		"memory_actual_size", (json_int_t)mem.current,
		"hotplug", "cpus", "boot", (json_int_t)st.boot,
		"current", (json_int_t)st.current,
		"requested", (json_int_t)st.requested,
		"max", (json_int_t)st.max, "pending", st.pending,
		"vcpus", control_vcpus(m), "memory", control_memory(m)));
}

static void control_resize(struct machine *m, const struct api_request *req,
			   struct api_reply *r)
{
	const char *field;
	char err[256];
	int ret;

	ret = hotplug_resize(m, req->desired_vcpus, req->desired_ram, err,
			     sizeof(err), &field);
	if (ret == -EINVAL)
		api_reply_error(r, 400, field, "%s", err);
	else if (ret == -EBUSY)
		api_reply_error(r, 429, field, "%s", err);
	else if (ret)
		api_reply_error(r, 500, field, "%s", err);
	else
		r->status = 204;
}

static void control_boot(struct machine *m, struct api_reply *r)
{
	char err[256];

	if (m->running) {
		api_reply_error(r, 409, NULL, "the VM is already running");
		return;
	}
	if (machine_start(m, err, sizeof(err))) {
		api_reply_error(r, 500, NULL, "%s", err);
		return;
	}
	log_info("vm.boot: the VM is running again");
	r->status = 204;
}

/* Actions that need a running VM. */
static void control_action(struct control *c, enum api_op op,
			   struct api_reply *r)
{
	struct machine *m = c->m;

	if (!m->running) {
		api_reply_error(r, 409, NULL, "the VM is not running "
				"(vm.boot starts it)");
		return;
	}
	switch (op) {
	case API_REBOOT:
		vm_request(&m->vm, VM_REQ_REBOOT);
		break;
	case API_SHUTDOWN:
		machine_stop(m);
		log_info("vm.shutdown: the VM is stopped");
		break;
	case API_POWER_BUTTON:
		ged_raise(m->ged, GED_POWER_BUTTON);
		break;
	default:
		break;
	}
	r->status = 204;
}

void control_handle(void *opaque, const struct api_request *req,
		    struct api_reply *reply)
{
	struct control *c = opaque;

	switch (req->op) {
	case API_PING:
		control_ping(reply);
		break;
	case API_INFO:
		control_info(c->m, reply);
		break;
	case API_COUNTERS:
		control_counters(c->m, reply);
		break;
	case API_RESIZE:
		control_resize(c->m, req, reply);
		break;
	case API_BOOT:
		control_boot(c->m, reply);
		break;
	case API_VMM_SHUTDOWN:
		c->quit = true;
		reply->status = 204;
		break;
	default:
		control_action(c, req->op, reply);
		break;
	}
}
