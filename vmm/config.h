/*
 * Command-line configuration: parsing and validation, no side effects
 * beyond reading files' metadata. The unit tests drive it directly.
 */
#ifndef EVMM_CONFIG_H
#define EVMM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MIN_MEMORY	(64ULL << 20)
#define CONFIG_HOTPLUG_ALIGN	(128ULL << 20)
/* MADT type-0 entries carry an 8-bit APIC ID, 0xFF is broadcast. */
#define CONFIG_MAX_VCPUS	254
/* Boot RAM, the MMIO hole and the hotplug region all end below this. */
#define CONFIG_MAX_GPA		(1ULL << 40)

#ifndef EVMM_VERSION
#define EVMM_VERSION		"0.1.0"
#endif

enum serial_mode { SERIAL_TTY, SERIAL_OFF, SERIAL_FILE };
enum seccomp_mode { SECCOMP_ON, SECCOMP_OFF, SECCOMP_LOG };

struct config {
	const char *kernel;
	const char *initramfs;		/* NULL: none */
	const char *cmdline;		/* never NULL after parsing */
	unsigned int boot_vcpus;
	unsigned int max_vcpus;
	uint64_t mem_size;
	uint64_t hotplug_size;
	enum serial_mode serial;
	const char *serial_path;	/* SERIAL_FILE */
	const char *api_socket;		/* NULL: no API */
	enum seccomp_mode seccomp;
	int log_level;			/* enum log_level */
};

enum config_result {
	CONFIG_RUN = 0,		/* start a VM */
	CONFIG_EXIT = 1,	/* --help or --version was printed */
};

/*
 * Parses argv into cfg. Returns CONFIG_RUN or CONFIG_EXIT, or a negative
 * errno with a one-line message naming the option and its accepted form
 * in err.
 */
int config_parse(struct config *cfg, int argc, char **argv,
		 char *err, size_t errlen);

/*
 * Checks limits only known at run time: KVM_CAP_MAX_VCPUS, and the guest's
 * physical address width (CPUID 0x80000008) for the hotplug region.
 */
int config_check_host(const struct config *cfg, unsigned int host_max_vcpus,
		      unsigned int phys_bits, char *err, size_t errlen);

/* Where the hotplug region starts: above boot RAM, 128 MiB aligned. */
uint64_t config_hotplug_base(uint64_t mem_size);

/*
 * Parses "512M", "1G", "4096" (bytes); K/M/G binary suffixes, either case.
 * Returns 0, -EINVAL (not a size) or -ERANGE (above 2^64 - 1).
 */
int config_parse_size(const char *s, uint64_t *out);

#endif
