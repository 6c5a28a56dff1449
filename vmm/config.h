/*
 * Command-line configuration: parsing and validation, no side effects
 * beyond reading files' metadata. The unit tests drive it directly.
 */
#ifndef EVMM_CONFIG_H
#define EVMM_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
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

/* PCI bus 0: 32 slots, slot 0 the host bridge, one device per other slot. */
#define CONFIG_PCI_SLOTS	32
#define CONFIG_MAX_DEVICES	(CONFIG_PCI_SLOTS - 1)
/* virtio 1.x: a split virtqueue has at most 32768 entries. */
#define CONFIG_QUEUE_SIZE_MAX	32768
/* virtio-blk needs room for a request's header and status (CH: above 2). */
#define CONFIG_DISK_QUEUE_SIZE_MIN 4
/*
 * One MSI-X vector per queue plus one for configuration changes, in BAR0's
 * 4 KiB MSI-X table (256 entries; DESIGN.md "PCI and virtio").
 */
#define CONFIG_MAX_QUEUES	255
#define CONFIG_ID_MAX		63
#define CONFIG_SERIAL_MAX	20	/* VIRTIO_BLK_ID_BYTES */
#define CONFIG_TAP_MAX		15	/* IFNAMSIZ - 1 */
#define CONFIG_MAC_LEN		6

/* The accepted forms, also for the messages of vmm/disk.c and the tap. */
#define CONFIG_DISK_FORM	"path=PATH[,readonly=on|off][,direct=on|off]" \
				"[,id=ID][,num_queues=N][,queue_size=N]" \
				"[,serial=S]"
#define CONFIG_NET_FORM		"[tap=NAME][,mac=MAC][,host_mac=MAC]" \
				"[,ip=IP,mask=MASK][,mtu=N][,id=ID]" \
				"[,num_queues=N][,queue_size=N]" \
				"[,offload_tso=on|off][,offload_ufo=on|off]" \
				"[,offload_csum=on|off]"
/* A tap's MTU: IPv4's minimum to what Linux's tun allows (65535 - 14). */
#define CONFIG_MTU_MIN		68
#define CONFIG_MTU_MAX		65521

enum serial_mode { SERIAL_TTY, SERIAL_OFF, SERIAL_FILE };
enum seccomp_mode { SECCOMP_ON, SECCOMP_OFF, SECCOMP_LOG };

/* --disk: a raw image. Defaults as Cloud Hypervisor's: 1 queue of 128. */
struct config_disk {
	char *path;			/* malloc'd: config_free */
	char id[CONFIG_ID_MAX + 1];	/* as given, or "_diskN" */
	char serial[CONFIG_SERIAL_MAX + 1];	/* "": none */
	bool readonly;
	bool direct;			/* O_DIRECT */
	unsigned int num_queues;	/* 1 .. boot vCPUs */
	unsigned int queue_size;	/* a power of two, 4 .. 32768 */
};

/*
 * --net: a tap, given by name or created (""; Cloud Hypervisor's vmtapN).
 * Defaults as Cloud Hypervisor's: 2 queues (one RX/TX pair) of 256, no
 * host address, the tap's own MTU and MAC, every offload. Without mac=,
 * the guest's MAC is locally administered unicast and stable: the FNV-1a
 * hash of the tap name and the index of the --net option (from 0), its
 * first byte's low bits set to 10.
 */
struct config_net {
	char tap[CONFIG_TAP_MAX + 1];	/* "": create one */
	char id[CONFIG_ID_MAX + 1];	/* as given, or "_netN" */
	uint8_t mac[CONFIG_MAC_LEN];	/* the guest's */
	bool has_host_mac;
	uint8_t host_mac[CONFIG_MAC_LEN];	/* the tap's, if given */
	bool has_ip;			/* ip and mask, given together */
	struct in_addr ip;		/* the host side's address */
	struct in_addr mask;
	unsigned int mtu;		/* 0: the tap's own, not announced */
	unsigned int num_queues;	/* even, 2 .. 2 * boot vCPUs */
	unsigned int queue_size;	/* a power of two, 1 .. 32768 */
	/* Cloud Hypervisor's: TSO and UFO only with checksum offload. */
	bool offload_tso, offload_ufo, offload_csum;
};

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
	/*
	 * PCI slots follow from the order: disks from slot 1 in command-line
	 * order, then nets (config_disk_slot, config_net_slot). Ids not given
	 * are made as Cloud Hypervisor makes them: one counter over disks,
	 * then nets, skipping every id given ("_disk0", "_disk1", "_net2").
	 */
	struct config_disk disks[CONFIG_MAX_DEVICES];
	unsigned int ndisks;
	struct config_net nets[CONFIG_MAX_DEVICES];
	unsigned int nnets;
};

enum config_result {
	CONFIG_RUN = 0,		/* start a VM */
	CONFIG_EXIT = 1,	/* --help or --version was printed */
};

/*
 * Parses argv into cfg. Returns CONFIG_RUN or CONFIG_EXIT, or a negative
 * errno with a one-line message naming the option and its accepted form
 * in err. Only after CONFIG_RUN does cfg hold memory (config_free).
 */
int config_parse(struct config *cfg, int argc, char **argv,
		 char *err, size_t errlen);
/* Frees what config_parse allocated; a zeroed or freed cfg is fine too. */
void config_free(struct config *cfg);

/* The PCI slot (bus 0) of disk i and of net i: the machine's and vm.info's. */
unsigned int config_disk_slot(const struct config *cfg, unsigned int i);
unsigned int config_net_slot(const struct config *cfg, unsigned int i);

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
