/*
 * config_parse() on an argv split from the input at NUL bytes. The first
 * byte chooses whether a valid --kernel comes first (so that the other
 * options are checked too). Either the parse succeeds with a sane
 * configuration, or it fails with an errno and one non-empty line that
 * names the option or the argument at fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/config.h"
#include "vmm/layout.h"

#define MAX_ARGS	64

static char kernel[] = "/tmp/evmm-fuzz-kernel-XXXXXX";

static void cleanup(void)
{
	unlink(kernel);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = mkstemp(kernel), null = open("/dev/null", O_WRONLY);

	(void)argc;
	(void)argv;
	if (fd < 0 || null < 0)
		abort();
	close(fd);
	atexit(cleanup);
	/* --help and --version print: keep libFuzzer's output readable. */
	dup2(null, STDOUT_FILENO);
	close(null);
	return 0;
}

static bool pow2_in(unsigned int v, unsigned int min, unsigned int max)
{
	return v >= min && v <= max && !(v & (v - 1));
}

static void check_id(const struct config *cfg, const char *id, unsigned int n)
{
	unsigned int i, same = 0;

	fuzz_assert(id[0] && strlen(id) <= CONFIG_ID_MAX && strncmp(id, "__", 2),
		    "id \"%s\"", id);
	for (i = 0; i < cfg->ndisks; i++)
		same += !strcmp(cfg->disks[i].id, id);
	for (i = 0; i < cfg->nnets; i++)
		same += !strcmp(cfg->nets[i].id, id);
	fuzz_assert(same == 1, "id \"%s\" of device %u is not unique", id, n);
}

/* Devices: within every limit, unique ids, one slot each from 1. */
static void check_devices(const struct config *cfg)
{
	const struct config_disk *d;
	const struct config_net *n;
	unsigned int i;

	fuzz_assert(cfg->ndisks + cfg->nnets <= CONFIG_MAX_DEVICES,
		    "%u disks, %u nets", cfg->ndisks, cfg->nnets);
	for (i = 0; i < cfg->ndisks; i++) {
		d = &cfg->disks[i];
		fuzz_assert(d->path && d->path[0] && strlen(d->path) < PATH_MAX,
			    "disk %u path", i);
		fuzz_assert(d->num_queues >= 1 && d->num_queues <=
			    cfg->boot_vcpus, "disk %u queues %u", i,
			    d->num_queues);
		fuzz_assert(pow2_in(d->queue_size, CONFIG_DISK_QUEUE_SIZE_MIN,
				    CONFIG_QUEUE_SIZE_MAX), "disk %u size %u",
			    i, d->queue_size);
		fuzz_assert(strlen(d->serial) <= CONFIG_SERIAL_MAX, "serial");
		fuzz_assert(config_disk_slot(cfg, i) == 1 + i, "disk %u slot", i);
		check_id(cfg, d->id, i);
	}
	for (i = 0; i < cfg->nnets; i++) {
		n = &cfg->nets[i];
		fuzz_assert(strlen(n->tap) <= CONFIG_TAP_MAX, "net %u tap", i);
		fuzz_assert(!n->mtu || (n->mtu >= CONFIG_MTU_MIN &&
			    n->mtu <= CONFIG_MTU_MAX), "net %u mtu", i);
		fuzz_assert(!n->has_host_mac || !(n->host_mac[0] & 1),
			    "net %u host_mac", i);
		fuzz_assert(!(n->mac[0] & 1) && (n->mac[0] | n->mac[1] |
			    n->mac[2] | n->mac[3] | n->mac[4] | n->mac[5]),
			    "net %u mac", i);
		fuzz_assert(n->num_queues >= 2 && n->num_queues % 2 == 0 &&
			    n->num_queues <= CONFIG_MAX_QUEUES &&
			    n->num_queues / 2 <= cfg->boot_vcpus,
			    "net %u queues %u", i, n->num_queues);
		fuzz_assert(pow2_in(n->queue_size, 1, CONFIG_QUEUE_SIZE_MAX),
			    "net %u size %u", i, n->queue_size);
		fuzz_assert(config_net_slot(cfg, i) == 1 + cfg->ndisks + i &&
			    config_net_slot(cfg, i) < CONFIG_PCI_SLOTS,
			    "net %u slot", i);
		check_id(cfg, n->id, cfg->ndisks + i);
	}
}

static void check_config(const struct config *cfg)
{
	struct sockaddr_un sun;

	fuzz_assert(cfg->kernel && cfg->cmdline, "no kernel or cmdline");
	fuzz_assert(cfg->boot_vcpus >= 1 && cfg->boot_vcpus <= cfg->max_vcpus &&
		    cfg->max_vcpus <= CONFIG_MAX_VCPUS, "cpus %u/%u",
		    cfg->boot_vcpus, cfg->max_vcpus);
	fuzz_assert(cfg->mem_size >= CONFIG_MIN_MEMORY &&
		    cfg->hotplug_size % CONFIG_HOTPLUG_ALIGN == 0,
		    "memory %llu hotplug %llu",
		    (unsigned long long)cfg->mem_size,
		    (unsigned long long)cfg->hotplug_size);
	fuzz_assert(config_hotplug_base(cfg->mem_size) + cfg->hotplug_size <=
		    CONFIG_MAX_GPA, "hotplug region ends past the limit");
	fuzz_assert(cfg->serial != SERIAL_FILE || (cfg->serial_path &&
		    cfg->serial_path[0]), "serial file without a path");
	fuzz_assert(cfg->mem_size % (2 << 20) == 0, "memory %llu",
		    (unsigned long long)cfg->mem_size);
	/* What the boot protocol's buffer and a sockaddr_un hold. */
	fuzz_assert(strlen(cfg->cmdline) < LAYOUT_CMDLINE_MAX, "cmdline");
	fuzz_assert(!cfg->api_socket || (cfg->api_socket[0] &&
		    strlen(cfg->api_socket) < sizeof(sun.sun_path)),
		    "api socket \"%s\"", cfg->api_socket);
	fuzz_assert(cfg->kernel[0] && (!cfg->initramfs || cfg->initramfs[0]),
		    "empty path");
	check_devices(cfg);
}

/* The message names what is wrong: an option or a quoted argument. */
static void check_error(int ret, const char *err)
{
	fuzz_assert(ret < 0 && ret > -4096, "returned %d", ret);
	fuzz_assert(err[0], "no message for %d", ret);
	fuzz_assert(!strchr(err, '\n'), "not one line: \"%s\"", err);
	fuzz_assert(err[0] == '-' || err[0] == '"', "names nothing: \"%s\"",
		    err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char *argv[MAX_ARGS + 1], err[256];
	struct config cfg;
	int argc = 0, ret;

	argv[argc++] = strdup("evmm");
	if (fuzz_take(&in, 1) & 1) {
		argv[argc++] = strdup("--kernel");
		argv[argc++] = strdup(kernel);
	}
	while (in.left && argc < MAX_ARGS)
		argv[argc++] = fuzz_take_str(&in);
	argv[argc] = NULL;
	memset(err, 0x55, sizeof(err));
	ret = config_parse(&cfg, argc, argv, err, sizeof(err));
	fuzz_assert(memchr(err, 0, sizeof(err)), "err not terminated");
	if (ret == CONFIG_RUN) {
		check_config(&cfg);
		config_free(&cfg);
	} else if (ret != CONFIG_EXIT) {
		check_error(ret, err);
	}
	while (argc--)
		free(argv[argc]);
	return 0;
}
