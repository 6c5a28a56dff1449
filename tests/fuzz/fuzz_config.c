/*
 * config_parse() on an argv split from the input at NUL bytes. The first
 * byte chooses whether a valid --kernel comes first (so that the other
 * options are checked too). Either the parse succeeds with a sane
 * configuration, or it fails with an errno and one non-empty line that
 * names the option or the argument at fault.
 */
#include <errno.h>
#include <fcntl.h>
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
	if (ret == CONFIG_RUN)
		check_config(&cfg);
	else if (ret != CONFIG_EXIT)
		check_error(ret, err);
	while (argc--)
		free(argv[argc]);
	return 0;
}
