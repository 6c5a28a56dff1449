/*
 * Command line: Cloud Hypervisor's syntax (--cpus boot=N,max=M,
 * --memory size=S,hotplug_size=H, --disk path=P, --net tap=T), checked up
 * front so that every mistake is one line naming the option and its
 * accepted form.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define STR_(x)		#x
#define STR(x)		STR_(x)
#define CMDLINE_MAX	4095
#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
/* getopt_long's val for config_opts[i] */
#define OPT_VAL(i)	(256 + (int)(i))
#define FIELD(p, type)	((type *)((char *)(p)->cfg + (p)->opt->field))

struct config_parser {
	struct config *cfg;
	const struct config_opt *opt;	/* the option being parsed */
	char *err;
	size_t errlen;
	unsigned int verbose;
};

enum { OPT_FILE = 1, OPT_REQUIRED = 2 };

struct config_opt {
	const char *name;
	char letter;			/* short form, or 0 */
	int (*set)(struct config_parser *p, const char *arg);
	const char *form;		/* NULL: takes no argument */
	const char *help;
	size_t field;			/* the generic setters' target */
	const char *const *names;	/* config_set_enum's values */
	int flags;
};

/* One key of a key=value,... argument. */
struct config_subopt {
	const char *key;
	int (*parse)(const char *s, uint64_t *out);	/* NULL: a string */
	uint64_t val;
	bool seen;
	const char *str;	/* a string's value, inside the parsed copy */
};

/* "--opt: message[; accepted form: FORM]" */
__attribute__((format(printf, 4, 5)))
static int config_err(struct config_parser *p, int ret, bool form,
		      const char *fmt, ...)
{
	size_t n = snprintf(p->err, p->errlen, "--%s: ", p->opt->name);
	va_list ap;

	va_start(ap, fmt);
	if (n < p->errlen)
		n += vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	if (form && n < p->errlen)
		snprintf(p->err + n, p->errlen - n, "; accepted form: %s",
			 p->opt->form);
	return ret;
}

#define config_bad(p, ...)	config_err(p, -EINVAL, true, __VA_ARGS__)

/* Digits only: strtoull alone would take "-1", " 1" and "+1". */
static int config_strtou64(const char *s, uint64_t *out, char **end)
{
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, end, 10);
	return errno == ERANGE ? -ERANGE : 0;
}

static int config_parse_count(const char *s, uint64_t *out)
{
	char *end;
	int ret = config_strtou64(s, out, &end);

	return ret == -EINVAL || *end ? -EINVAL : ret;
}

int config_parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMG";
	unsigned int shift = 0;
	const char *suffix;
	uint64_t v;
	char *end;
	int ret = config_strtou64(s, &v, &end);

	if (ret == -EINVAL)
		return ret;
	if (*end) {
		suffix = strchr(suffixes, toupper((unsigned char)*end));
		if (!suffix || end[1])
			return -EINVAL;
		shift = 10 * (suffix - suffixes + 1);
	}
	if (ret || v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* "1G" rather than "1073741824" when exact. */
static const char *config_fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char suffixes[] = "GMK";
	unsigned int i, shift;

	for (i = 0, shift = 30; v && i < 3; i++, shift -= 10)
		if (IS_ALIGNED(v, 1ULL << shift)) {
			snprintf(buf, len, "%" PRIu64 "%c", v >> shift,
				 suffixes[i]);
			return buf;
		}
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

static int config_subopt(struct config_parser *p, struct config_subopt *subs,
			 size_t n, char *item)
{
	char *val = strchr(item, '=');
	struct config_subopt *s = subs;
	int ret;

	if (!val)
		return config_bad(p, "expected key=value, got \"%s\"", item);
	*val++ = '\0';
	while (s < subs + n && strcmp(s->key, item))
		s++;
	if (s == subs + n)
		return config_bad(p, "unknown key \"%s\"", item);
	if (s->seen)
		return config_bad(p, "duplicate key \"%s\"", item);
	if (!*val)
		return config_bad(p, "empty value for \"%s\"", item);
	s->str = val;
	ret = s->parse ? s->parse(val, &s->val) : 0;
	if (ret == -ERANGE)
		return config_bad(p, "%s \"%s\" is too large", item, val);
	if (ret)
		return config_bad(p, "cannot parse %s \"%s\"", item, val);
	s->seen = true;
	return 0;
}

/*
 * Parses "key=value,key=value" into subs; every key at most once. String
 * values point into *buf, which the caller frees.
 */
static int config_subopts_buf(struct config_parser *p, const char *arg,
			      struct config_subopt *subs, size_t n, char **buf)
{
	char *rest, *item;
	int ret = 0;

	*buf = rest = strdup(arg);
	if (!*buf)
		return config_err(p, -ENOMEM, false, "out of memory");
	while (!ret && (item = strsep(&rest, ",")))
		ret = config_subopt(p, subs, n, item);
	return ret;
}

static int config_subopts(struct config_parser *p, const char *arg,
			  struct config_subopt *subs, size_t n)
{
	char *buf;
	int ret = config_subopts_buf(p, arg, subs, n, &buf);

	free(buf);
	return ret;
}

static int config_set_cpus(struct config_parser *p, const char *arg)
{
	struct config_subopt subs[] = {
		{ "boot", config_parse_count, 1, false, NULL },
		{ "max", config_parse_count, 0, false, NULL },
	};
	int ret = config_subopts(p, arg, subs, ARRAY_SIZE(subs));
	uint64_t boot, max;

	if (ret)
		return ret;
	boot = subs[0].val;
	max = subs[1].seen ? subs[1].val : boot;
	if (!boot)
		return config_bad(p, "boot must be at least 1");
	if (boot > CONFIG_MAX_VCPUS)
		return config_bad(p, "boot (%" PRIu64 ") is above the limit of "
				  STR(CONFIG_MAX_VCPUS), boot);
	if (max < boot)
		return config_bad(p, "max (%" PRIu64 ") is lower than boot (%"
				  PRIu64 ")", max, boot);
	if (max > CONFIG_MAX_VCPUS)
		return config_bad(p, "max (%" PRIu64 ") is above the limit of "
				  STR(CONFIG_MAX_VCPUS), max);
	p->cfg->boot_vcpus = boot;
	p->cfg->max_vcpus = max;
	return 0;
}

uint64_t config_hotplug_base(uint64_t mem_size)
{
	if (mem_size <= LAYOUT_MMIO_HOLE)
		return LAYOUT_HIGH_RAM;
	/* Boot RAM skips the 32-bit MMIO hole and goes on from 4 GiB. */
	return ALIGN_UP(LAYOUT_HIGH_RAM + (mem_size - LAYOUT_MMIO_HOLE),
			CONFIG_HOTPLUG_ALIGN);
}

static bool config_mem_fits(uint64_t size, uint64_t hotplug)
{
	if (size > CONFIG_MAX_GPA || hotplug > CONFIG_MAX_GPA)
		return false;
	return config_hotplug_base(size) + hotplug <= CONFIG_MAX_GPA;
}

static int config_set_memory(struct config_parser *p, const char *arg)
{
	struct config_subopt subs[] = {
		{ "size", config_parse_size, 512 * MiB, false, NULL },
		{ "hotplug_size", config_parse_size, 0, false, NULL },
	};
	int ret = config_subopts(p, arg, subs, ARRAY_SIZE(subs));
	uint64_t size = subs[0].val, hotplug = subs[1].val;
	char a[32], b[32];

	if (ret)
		return ret;
	config_fmt_size(a, sizeof(a), size);
	config_fmt_size(b, sizeof(b), hotplug);
	if (!size)
		return config_bad(p, "size must not be zero");
	if (size < CONFIG_MIN_MEMORY)
		return config_bad(p, "size (%s) is below the minimum of %lluM",
				  a, CONFIG_MIN_MEMORY >> 20);
	if (!IS_ALIGNED(size, 2 * MiB))
		return config_bad(p, "size (%s) is not a multiple of 2M", a);
	if (!IS_ALIGNED(hotplug, CONFIG_HOTPLUG_ALIGN))
		return config_bad(p, "hotplug_size (%s) is not a multiple of "
				  "%lluM", b, CONFIG_HOTPLUG_ALIGN >> 20);
	if (!config_mem_fits(size, hotplug))
		return config_bad(p, "size (%s) and hotplug_size (%s) do not "
				  "fit in the 1 TiB guest physical address "
				  "space", a, b);
	p->cfg->mem_size = size;
	p->cfg->hotplug_size = hotplug;
	return 0;
}

/* Cloud Hypervisor's toggles: on|off, and true|false, any case. */
static int config_parse_toggle(const char *s, uint64_t *out)
{
	if (!strcasecmp(s, "on") || !strcasecmp(s, "true"))
		*out = 1;
	else if (!strcasecmp(s, "off") || !strcasecmp(s, "false"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

static bool config_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Printable ASCII: names reach vm.info's JSON and terminals. */
static bool config_printable(const char *s, bool spaces)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s) || (!spaces && *s == ' '))
			return false;
	return true;
}

/* Whether a device has this id; those whose id comes later have "". */
static bool config_id_taken(const struct config *cfg, const char *id)
{
	unsigned int i;

	for (i = 0; i < cfg->ndisks; i++)
		if (!strcmp(cfg->disks[i].id, id))
			return true;
	for (i = 0; i < cfg->nnets; i++)
		if (!strcmp(cfg->nets[i].id, id))
			return true;
	return false;
}

/* id= as given: Cloud Hypervisor reserves "__", and ids are unique. */
static int config_set_id(struct config_parser *p, char *dst,
			 const struct config_subopt *s)
{
	if (!s->seen)
		return 0;
	if (strlen(s->str) > CONFIG_ID_MAX || !config_printable(s->str, false))
		return config_bad(p, "id \"%s\" is not at most "
				  STR(CONFIG_ID_MAX) " printable characters "
				  "without spaces", s->str);
	if (!strncmp(s->str, "__", 2))
		return config_bad(p, "id \"%s\": ids starting with \"__\" "
				  "are reserved", s->str);
	if (config_id_taken(p->cfg, s->str))
		return config_bad(p, "duplicate id \"%s\"", s->str);
	strcpy(dst, s->str);
	return 0;
}

/* Room on the PCI bus for one more device. */
static int config_device_room(struct config_parser *p)
{
	if (p->cfg->ndisks + p->cfg->nnets < CONFIG_MAX_DEVICES)
		return 0;
	return config_bad(p, "more than %d devices: PCI slots 1-%d hold one "
			  "each", CONFIG_MAX_DEVICES, CONFIG_MAX_DEVICES);
}

static int config_queue_size(struct config_parser *p, uint64_t v,
			     uint64_t min)
{
	if (v >= min && v <= CONFIG_QUEUE_SIZE_MAX && config_is_pow2(v))
		return 0;
	return config_bad(p, "queue_size (%" PRIu64 ") is not a power of two "
			  "from %" PRIu64 " to " STR(CONFIG_QUEUE_SIZE_MAX),
			  v, min);
}

/* The same image twice, by name or, when both exist, by inode. */
static bool config_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

enum { DISK_PATH, DISK_READONLY, DISK_DIRECT, DISK_ID, DISK_NUM_QUEUES,
       DISK_QUEUE_SIZE, DISK_SERIAL, DISK_KEYS };

static int config_disk_fill(struct config_parser *p, struct config_disk *d,
			    const struct config_subopt *subs)
{
	const char *path = subs[DISK_PATH].str, *serial = subs[DISK_SERIAL].str;
	uint64_t nq = subs[DISK_NUM_QUEUES].val;
	unsigned int i;
	int ret;

	if (!subs[DISK_PATH].seen)
		return config_bad(p, "path is required");
	if (strlen(path) >= PATH_MAX)
		return config_bad(p, "path is longer than %d bytes",
				  PATH_MAX - 1);
	for (i = 0; i < p->cfg->ndisks; i++)
		if (config_same_file(p->cfg->disks[i].path, path))
			return config_bad(p, "\"%s\" is already the image of "
					  "an earlier --disk", path);
	if (!nq || nq > CONFIG_MAX_QUEUES)
		return config_bad(p, "num_queues (%" PRIu64 ") is not from 1 "
				  "to " STR(CONFIG_MAX_QUEUES), nq);
	ret = config_queue_size(p, subs[DISK_QUEUE_SIZE].val,
				CONFIG_DISK_QUEUE_SIZE_MIN);
	if (ret)
		return ret;
	if (serial && (strlen(serial) > CONFIG_SERIAL_MAX ||
		       !config_printable(serial, true)))
		return config_bad(p, "serial \"%s\" is not at most "
				  STR(CONFIG_SERIAL_MAX) " printable "
				  "characters", serial);
	ret = config_set_id(p, d->id, &subs[DISK_ID]);
	if (ret)
		return ret;
	if (serial)
		strcpy(d->serial, serial);
	d->readonly = subs[DISK_READONLY].val;
	d->direct = subs[DISK_DIRECT].val;
	d->num_queues = nq;
	d->queue_size = subs[DISK_QUEUE_SIZE].val;
	d->path = strdup(path);
	return d->path ? 0 : config_err(p, -ENOMEM, false, "out of memory");
}

static int config_set_disk(struct config_parser *p, const char *arg)
{
	struct config_subopt subs[DISK_KEYS] = {
		[DISK_PATH] = { .key = "path" },
		[DISK_READONLY] = { .key = "readonly",
				    .parse = config_parse_toggle },
		[DISK_DIRECT] = { .key = "direct",
				  .parse = config_parse_toggle },
		[DISK_ID] = { .key = "id" },
		[DISK_NUM_QUEUES] = { .key = "num_queues",
				      .parse = config_parse_count, .val = 1 },
		[DISK_QUEUE_SIZE] = { .key = "queue_size",
				      .parse = config_parse_count, .val = 128 },
		[DISK_SERIAL] = { .key = "serial" },
	};
	struct config_disk *d = &p->cfg->disks[p->cfg->ndisks];
	char *buf = NULL;
	int ret = config_device_room(p);

	if (ret)
		return ret;	/* d is past the array */
	ret = config_subopts_buf(p, arg, subs, DISK_KEYS, &buf);
	if (!ret)
		ret = config_disk_fill(p, d, subs);
	free(buf);
	if (ret)
		*d = (struct config_disk){ 0 };
	else
		p->cfg->ndisks++;
	return ret;
}

_Static_assert(CONFIG_TAP_MAX == IFNAMSIZ - 1, "a tap name and its NUL");

/* Linux's dev_valid_name(), printable: ip(8) would refuse the rest. */
static bool config_tap_valid(const char *s)
{
	return strlen(s) <= CONFIG_TAP_MAX && strcmp(s, ".") &&
	       strcmp(s, "..") && !strpbrk(s, "/:") &&
	       config_printable(s, false);
}

/* Cloud Hypervisor's form: six two-digit hex bytes, colon separated. */
static int config_parse_mac(const char *s, uint8_t *mac)
{
	unsigned int i;

	for (i = 0; i < CONFIG_MAC_LEN; i++, s += 3) {
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]) ||
		    s[2] != (i == CONFIG_MAC_LEN - 1 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = strtoul((char[3]){ s[0], s[1], '\0' }, NULL, 16);
	}
	return 0;
}

/* FNV-1a 64 of the tap name and the index: see struct config_net. */
static void config_net_mac(const char *tap, unsigned int index, uint8_t *mac)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned int i;

	for (; *tap; tap++)
		h = (h ^ (uint8_t)*tap) * 0x100000001b3ULL;
	for (i = 0; i < 4; i++)
		h = (h ^ (uint8_t)(index >> (8 * i))) * 0x100000001b3ULL;
	for (i = 0; i < CONFIG_MAC_LEN; i++)
		mac[i] = h >> (8 * i);
	mac[0] = (mac[0] & 0xfc) | 0x02;
}

/* A unicast MAC for key (mac, host_mac), as Cloud Hypervisor writes it. */
static int config_mac(struct config_parser *p, const char *key, const char *s,
		      uint8_t *mac)
{
	static const uint8_t zero[CONFIG_MAC_LEN];

	if (config_parse_mac(s, mac))
		return config_bad(p, "%s \"%s\" is not six two-digit hex "
				  "bytes like 52:54:00:12:34:56", key, s);
	if (mac[0] & 1)
		return config_bad(p, "%s %s is a multicast address (the "
				  "first byte is odd)", key, s);
	if (!memcmp(mac, zero, sizeof(zero)))
		return config_bad(p, "%s %s is all zeros", key, s);
	return 0;
}

static int config_net_mac_set(struct config_parser *p, struct config_net *n,
			      const char *mac, const char *host_mac)
{
	int ret = 0;

	if (mac)
		ret = config_mac(p, "mac", mac, n->mac);
	else
		config_net_mac(n->tap, p->cfg->nnets, n->mac);
	if (!ret && host_mac) {
		ret = config_mac(p, "host_mac", host_mac, n->host_mac);
		n->has_host_mac = true;
	}
	return ret;
}

/* A netmask is ones then zeros, as SIOCSIFNETMASK wants. */
static bool config_mask_valid(struct in_addr mask)
{
	uint32_t inv = ~ntohl(mask.s_addr);

	return !(inv & (inv + 1));
}

static int config_net_ip(struct config_parser *p, struct config_net *n,
			 const char *ip, const char *mask)
{
	if (!ip && !mask)
		return 0;
	if (!mask)
		return config_bad(p, "ip without mask: give both or neither");
	if (!ip)
		return config_bad(p, "mask without ip: give both or neither");
	if (inet_pton(AF_INET, ip, &n->ip) != 1)
		return config_bad(p, "ip \"%s\" is not an IPv4 address like "
				  "192.168.249.1", ip);
	if (inet_pton(AF_INET, mask, &n->mask) != 1 ||
	    !config_mask_valid(n->mask))
		return config_bad(p, "mask \"%s\" is not a netmask like "
				  "255.255.255.0", mask);
	n->has_ip = true;
	return 0;
}

enum { NET_TAP, NET_MAC, NET_HOST_MAC, NET_IP, NET_MASK, NET_MTU, NET_ID,
       NET_NUM_QUEUES, NET_QUEUE_SIZE, NET_TSO, NET_UFO, NET_CSUM, NET_KEYS };

/* tap= names an interface, once; none: evmm creates one. */
static int config_net_tap(struct config_parser *p, struct config_net *n,
			  const struct config_subopt *s)
{
	unsigned int i;

	if (!s->seen)
		return 0;
	if (!*s->str || !config_tap_valid(s->str))
		return config_bad(p, "tap \"%s\" is not an interface name: "
				  "1 to " STR(CONFIG_TAP_MAX) " printable "
				  "characters, no spaces, '/' or ':'", s->str);
	for (i = 0; i < p->cfg->nnets; i++)
		if (!strcmp(p->cfg->nets[i].tap, s->str))
			return config_bad(p, "tap \"%s\" is already used by "
					  "an earlier --net", s->str);
	strcpy(n->tap, s->str);
	return 0;
}

static int config_net_mtu(struct config_parser *p, struct config_net *n,
			  const struct config_subopt *s)
{
	if (!s->seen)
		return 0;
	if (s->val < CONFIG_MTU_MIN || s->val > CONFIG_MTU_MAX)
		return config_bad(p, "mtu (%" PRIu64 ") is not from "
				  STR(CONFIG_MTU_MIN) " to "
				  STR(CONFIG_MTU_MAX), s->val);
	n->mtu = s->val;
	return 0;
}

static void config_net_offloads(struct config_net *n,
				const struct config_subopt *subs)
{
	n->offload_tso = subs[NET_TSO].val;
	n->offload_ufo = subs[NET_UFO].val;
	n->offload_csum = subs[NET_CSUM].val;
}

static int config_net_fill(struct config_parser *p, struct config_net *n,
			   const struct config_subopt *subs)
{
	uint64_t nq = subs[NET_NUM_QUEUES].val;
	int ret;

	ret = config_net_tap(p, n, &subs[NET_TAP]);
	if (!ret)
		ret = config_net_mac_set(p, n, subs[NET_MAC].str,
					 subs[NET_HOST_MAC].str);
	if (!ret)
		ret = config_net_ip(p, n, subs[NET_IP].str, subs[NET_MASK].str);
	if (!ret)
		ret = config_net_mtu(p, n, &subs[NET_MTU]);
	if (ret)
		return ret;
	config_net_offloads(n, subs);
	if (nq < 2 || nq % 2 || nq > CONFIG_MAX_QUEUES)
		return config_bad(p, "num_queues (%" PRIu64 ") is not an even "
				  "number from 2 to %d (RX/TX pairs)", nq,
				  CONFIG_MAX_QUEUES & ~1);
	ret = config_queue_size(p, subs[NET_QUEUE_SIZE].val, 1);
	if (!ret)
		ret = config_set_id(p, n->id, &subs[NET_ID]);
	n->num_queues = nq;
	n->queue_size = subs[NET_QUEUE_SIZE].val;
	return ret;
}

static int config_set_net(struct config_parser *p, const char *arg)
{
	struct config_subopt subs[NET_KEYS] = {
		[NET_TAP] = { .key = "tap" },
		[NET_MAC] = { .key = "mac" },
		[NET_HOST_MAC] = { .key = "host_mac" },
		[NET_IP] = { .key = "ip" },
		[NET_MASK] = { .key = "mask" },
		[NET_MTU] = { .key = "mtu", .parse = config_parse_count },
		[NET_ID] = { .key = "id" },
		[NET_NUM_QUEUES] = { .key = "num_queues",
				     .parse = config_parse_count, .val = 2 },
		[NET_QUEUE_SIZE] = { .key = "queue_size",
				     .parse = config_parse_count, .val = 256 },
		[NET_TSO] = { .key = "offload_tso",
			      .parse = config_parse_toggle, .val = 1 },
		[NET_UFO] = { .key = "offload_ufo",
			      .parse = config_parse_toggle, .val = 1 },
		[NET_CSUM] = { .key = "offload_csum",
			       .parse = config_parse_toggle, .val = 1 },
	};
	struct config_net *n = &p->cfg->nets[p->cfg->nnets];
	char *buf = NULL;
	int ret = config_device_room(p);

	if (ret)
		return ret;	/* n is past the array */
	ret = config_subopts_buf(p, arg, subs, NET_KEYS, &buf);
	if (!ret)
		ret = config_net_fill(p, n, subs);
	free(buf);
	if (ret)
		*n = (struct config_net){ 0 };
	else
		p->cfg->nnets++;
	return ret;
}

static int config_set_path(struct config_parser *p, const char *arg)
{
	if (!*arg)
		return config_bad(p, "empty path");
	*FIELD(p, const char *) = arg;
	return 0;
}

static int config_set_cmdline(struct config_parser *p, const char *arg)
{
	if (strlen(arg) > CMDLINE_MAX)
		return config_bad(p, "%zu bytes is too long", strlen(arg));
	p->cfg->cmdline = arg;
	return 0;
}

static int config_set_serial(struct config_parser *p, const char *arg)
{
	if (!strncmp(arg, "file=", 5)) {
		p->cfg->serial = SERIAL_FILE;
		return config_set_path(p, arg + 5);
	}
	if (strcmp(arg, "tty") && strcmp(arg, "off"))
		return config_bad(p, "invalid value \"%s\"", arg);
	p->cfg->serial = strcmp(arg, "tty") ? SERIAL_OFF : SERIAL_TTY;
	return 0;
}

static int config_set_api_socket(struct config_parser *p, const char *arg)
{
	if (!strncmp(arg, "path=", 5))
		arg += 5;
	if (strlen(arg) > SUN_PATH_MAX)
		return config_bad(p, "path is longer than %zu bytes",
				  SUN_PATH_MAX);
	return config_set_path(p, arg);
}

/* Stores the index of arg in opt->names into an int or enum field. */
static int config_set_enum(struct config_parser *p, const char *arg)
{
	int i;

	for (i = 0; p->opt->names[i]; i++)
		if (!strcmp(p->opt->names[i], arg)) {
			*FIELD(p, int) = i;
			return 0;
		}
	return config_bad(p, "invalid value \"%s\"", arg);
}

static int config_set_verbose(struct config_parser *p, const char *arg)
{
	(void)arg;
	p->verbose++;
	return 0;
}

static int config_version(struct config_parser *p, const char *arg)
{
	(void)p;
	(void)arg;
	printf("evmm %s\n", EVMM_VERSION);
	return CONFIG_EXIT;
}

static int config_help(struct config_parser *p, const char *arg);

static const char *const config_seccomp_names[] = {
	[SECCOMP_ON] = "true", [SECCOMP_OFF] = "false", [SECCOMP_LOG] = "log",
	NULL
};
static const char *const config_log_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info",
	[LOG_DEBUG] = "debug", NULL
};
_Static_assert(sizeof(enum seccomp_mode) == sizeof(int), "enum field");

static const struct config_opt config_opts[] = {
	{ "kernel", 0, config_set_path, "PATH", "guest kernel (bzImage); "
	  "required", offsetof(struct config, kernel), NULL,
	  OPT_FILE | OPT_REQUIRED },
	{ "initramfs", 0, config_set_path, "PATH", "initial ramdisk",
	  offsetof(struct config, initramfs), NULL, OPT_FILE },
	{ "cmdline", 0, config_set_cmdline, "STRING of at most "
	  STR(CMDLINE_MAX) " bytes", "kernel command line (default "
	  "\"console=ttyS0\")", 0, NULL, 0 },
	{ "cpus", 0, config_set_cpus, "boot=N[,max=M] with 1 <= boot <= "
	  "max <= " STR(CONFIG_MAX_VCPUS), "vCPUs at boot and after "
	  "hotplug (default boot=1, max=boot)", 0, NULL, 0 },
	{ "memory", 0, config_set_memory, "size=SIZE[,hotplug_size=SIZE], "
	  "SIZE in bytes or with K/M/G", "boot RAM (default 512M; at least "
	  "64M, a multiple of 2M)\n        and hotpluggable RAM (a multiple "
	  "of 128M; default 0)", 0, NULL, 0 },
	{ "disk", 0, config_set_disk, CONFIG_DISK_FORM, "a raw disk image "
	  "(virtio-blk), repeatable; defaults: readonly=off, direct=off,\n"
	  "        num_queues=1 (at most the boot vCPUs), queue_size=128",
	  0, NULL, 0 },
	{ "net", 0, config_set_net, CONFIG_NET_FORM, "a tap (virtio-net), "
	  "repeatable; without tap= one is created (vmtapN);\n"
	  "        defaults: num_queues=2 (one RX/TX pair), queue_size=256, "
	  "no host address,\n        every offload, a MAC derived from the "
	  "tap's name", 0, NULL, 0 },
	{ "serial", 0, config_set_serial, "tty|off|file=PATH",
	  "where COM1 goes (default tty)",
	  offsetof(struct config, serial_path), NULL, 0 },
	{ "api-socket", 0, config_set_api_socket, "PATH or path=PATH",
	  "Unix socket of the HTTP API (default: none)",
	  offsetof(struct config, api_socket), NULL, 0 },
	{ "seccomp", 0, config_set_enum, "true|false|log", "system call "
	  "filters (default true)", offsetof(struct config, seccomp),
	  config_seccomp_names, 0 },
	{ "log-level", 0, config_set_enum, "error|warn|info|debug",
	  "messages on stderr (default warn)",
	  offsetof(struct config, log_level), config_log_names, 0 },
	{ "verbose", 'v', config_set_verbose, NULL,
	  "one log level more; repeatable", 0, NULL, 0 },
	{ "version", 0, config_version, NULL, "print the version and exit",
	  0, NULL, 0 },
	{ "help", 'h', config_help, NULL, "print this help and exit",
	  0, NULL, 0 },
};

static int config_help(struct config_parser *p, const char *arg)
{
	const struct config_opt *o;

	(void)p;
	(void)arg;
	printf("usage: evmm --kernel PATH [options]\n");
	for (o = config_opts; o < config_opts + ARRAY_SIZE(config_opts); o++) {
		if (o->letter)
			printf("  -%c, --%s\n", o->letter, o->name);
		else
			printf("  --%s %s\n", o->name, o->form ? o->form : "");
		printf("        %s\n", o->help);
	}
	return CONFIG_EXIT;
}

/* Maps getopt_long's answer (a val or a short option) to its entry. */
static const struct config_opt *config_opt_find(int c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++)
		if (c == OPT_VAL(i) || (c && c == config_opts[i].letter))
			return &config_opts[i];
	return NULL;
}

static int config_getopt_error(struct config_parser *p, int c, char **argv)
{
	p->opt = config_opt_find(optopt);
	if (p->opt && c == ':')
		return config_bad(p, "missing argument");
	if (p->opt)
		return config_err(p, -EINVAL, false, "takes no argument");
	if (optopt)
		snprintf(p->err, p->errlen, "-%c: unknown option; see --help",
			 optopt);
	else
		snprintf(p->err, p->errlen, "%s: unknown option; see --help",
			 argv[optind - 1]);
	return -EINVAL;
}

static int config_check_file(struct config_parser *p, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return config_err(p, -errno, false, "%s: %s", path,
				  strerror(errno));
	if (!S_ISREG(st.st_mode))
		return config_err(p, -EINVAL, false, "%s: not a regular file",
				  path);
	/* With the effective IDs: those will open it. */
	if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS))
		return config_err(p, -errno, false, "%s: %s", path,
				  strerror(errno));
	return 0;
}

static int config_check_files(struct config_parser *p)
{
	int ret = 0;

	size_t i;

	for (i = 0; !ret && i < ARRAY_SIZE(config_opts); i++) {
		p->opt = &config_opts[i];
		if (!(p->opt->flags & OPT_FILE))
			continue;
		if (*FIELD(p, const char *))
			ret = config_check_file(p, *FIELD(p, const char *));
		else if (p->opt->flags & OPT_REQUIRED)
			ret = config_err(p, -EINVAL, false, "missing, it is "
					 "required; accepted form: --%s %s",
					 p->opt->name, p->opt->form);
	}
	return ret;
}

/* Cloud Hypervisor's: one counter, disks then nets, skipping given ids. */
static void config_gen_ids(struct config *cfg)
{
	char id[CONFIG_ID_MAX + 1];
	unsigned int i, next = 0;

	for (i = 0; i < cfg->ndisks + cfg->nnets; i++) {
		bool disk = i < cfg->ndisks;
		char *dst = disk ? cfg->disks[i].id :
			    cfg->nets[i - cfg->ndisks].id;

		if (*dst)
			continue;
		do
			snprintf(id, sizeof(id), "%s%u", disk ? "_disk" : "_net",
				 next++);
		while (config_id_taken(cfg, id));
		strcpy(dst, id);
	}
}

static const struct config_opt *config_opt_named(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++)
		if (!strcmp(config_opts[i].name, name))
			return &config_opts[i];
	return NULL;
}

/* As Cloud Hypervisor: no more queues (net: RX/TX pairs) than boot vCPUs. */
static int config_check_queues(struct config_parser *p)
{
	const struct config *cfg = p->cfg;
	unsigned int i;

	p->opt = config_opt_named("disk");
	for (i = 0; i < cfg->ndisks; i++)
		if (cfg->disks[i].num_queues > cfg->boot_vcpus)
			return config_bad(p, "%s: num_queues (%u) is more than "
					  "the boot vCPUs (%u)",
					  cfg->disks[i].id,
					  cfg->disks[i].num_queues,
					  cfg->boot_vcpus);
	p->opt = config_opt_named("net");
	for (i = 0; i < cfg->nnets; i++)
		if (cfg->nets[i].num_queues / 2 > cfg->boot_vcpus)
			return config_bad(p, "%s: num_queues (%u) is more than "
					  "two per boot vCPU (%u)",
					  cfg->nets[i].id,
					  cfg->nets[i].num_queues,
					  cfg->boot_vcpus);
	return 0;
}

static void config_defaults(struct config *cfg, struct option *lo)
{
	size_t i;

	*cfg = (struct config){
		.cmdline = "console=ttyS0",
		.boot_vcpus = 1,
		.max_vcpus = 1,
		.mem_size = 512 * MiB,
		.serial = SERIAL_TTY,
		.seccomp = SECCOMP_ON,
		.log_level = LOG_WARN,
	};
	for (i = 0; i < ARRAY_SIZE(config_opts); i++)
		lo[i] = (struct option){ config_opts[i].name,
			config_opts[i].form ? required_argument : no_argument,
			NULL, OPT_VAL(i) };
	lo[i] = (struct option){ 0 };
}

static int config_parse_args(struct config *cfg, int argc, char **argv,
			     char *err, size_t errlen)
{
	struct option lo[ARRAY_SIZE(config_opts) + 1];
	struct config_parser p = { cfg, NULL, err, errlen, 0 };
	int c, ret;

	config_defaults(cfg, lo);
	if (errlen)
		err[0] = '\0';
	optind = 0;
	opterr = 0;
	/* "+": no reordering, so a stray argument stays where it was. */
	while ((c = getopt_long(argc, argv, "+:hv", lo, NULL)) != -1) {
		if (c == '?' || c == ':')
			return config_getopt_error(&p, c, argv);
		p.opt = config_opt_find(c);
		ret = p.opt->set(&p, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		snprintf(err, errlen, "\"%s\": unexpected argument; every "
			 "value follows its option, e.g. --kernel PATH",
			 argv[optind]);
		return -EINVAL;
	}
	cfg->log_level = MIN(cfg->log_level + p.verbose,
			     (unsigned int)LOG_DEBUG);
	config_gen_ids(cfg);
	ret = config_check_queues(&p);
	return ret ? ret : config_check_files(&p);
}

/*
 * Messages quote the arguments: a newline or an escape sequence in one must
 * not split the message or reach the terminal.
 */
int config_parse(struct config *cfg, int argc, char **argv,
		 char *err, size_t errlen)
{
	int ret = config_parse_args(cfg, argc, argv, err, errlen);
	size_t i;

	for (i = 0; ret < 0 && i < errlen && err[i]; i++) {
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
	}
	if (ret != CONFIG_RUN)
		config_free(cfg);
	return ret;
}

void config_free(struct config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->ndisks; i++) {
		free(cfg->disks[i].path);
		cfg->disks[i].path = NULL;
	}
	cfg->ndisks = 0;
	cfg->nnets = 0;
}

unsigned int config_disk_slot(const struct config *cfg, unsigned int i)
{
	(void)cfg;
	return 1 + i;
}

unsigned int config_net_slot(const struct config *cfg, unsigned int i)
{
	return 1 + cfg->ndisks + i;
}

int config_check_host(const struct config *cfg, unsigned int host_max_vcpus,
		      unsigned int phys_bits, char *err, size_t errlen)
{
	uint64_t end = config_hotplug_base(cfg->mem_size) + cfg->hotplug_size;

	if (cfg->max_vcpus > host_max_vcpus) {
		snprintf(err, errlen, "--cpus: max (%u) is above this host's "
			 "KVM limit of %u; accepted form: boot=N[,max=M] with "
			 "1 <= boot <= max <= %u", cfg->max_vcpus,
			 host_max_vcpus, host_max_vcpus);
		return -EINVAL;
	}
	/* vm.c gives 32..52 bits. */
	if (phys_bits >= 30 && phys_bits < 64 && cfg->hotplug_size &&
	    end > (1ULL << phys_bits)) {
		snprintf(err, errlen, "--memory: the hotplug region ends at "
			 "%llu GiB, beyond the guest's %u-bit physical address "
			 "space (%llu GiB); accepted form: size=SIZE"
			 "[,hotplug_size=SIZE] with a smaller hotplug_size",
			 (unsigned long long)(end >> 30), phys_bits,
			 (unsigned long long)(1ULL << (phys_bits - 30)));
		return -EINVAL;
	}
	return 0;
}
