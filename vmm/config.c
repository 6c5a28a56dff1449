/*
 * Command line: Cloud Hypervisor's syntax (--cpus boot=N,max=M,
 * --memory size=S,hotplug_size=H), checked up front so that every mistake
 * is one line naming the option and its accepted form.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
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
	int (*parse)(const char *s, uint64_t *out);
	uint64_t val;
	bool seen;
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
	ret = s->parse(val, &s->val);
	if (ret == -ERANGE)
		return config_bad(p, "%s \"%s\" is too large", item, val);
	if (ret)
		return config_bad(p, "cannot parse %s \"%s\"", item, val);
	s->seen = true;
	return 0;
}

/* Parses "key=value,key=value" into subs; every key at most once. */
static int config_subopts(struct config_parser *p, const char *arg,
			  struct config_subopt *subs, size_t n)
{
	char *buf = strdup(arg), *rest = buf, *item;
	int ret = 0;

	if (!buf)
		return config_err(p, -ENOMEM, false, "out of memory");
	while (!ret && (item = strsep(&rest, ",")))
		ret = config_subopt(p, subs, n, item);
	free(buf);
	return ret;
}

static int config_set_cpus(struct config_parser *p, const char *arg)
{
	struct config_subopt subs[] = {
		{ "boot", config_parse_count, 1, false },
		{ "max", config_parse_count, 0, false },
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
		{ "size", config_parse_size, 512 * MiB, false },
		{ "hotplug_size", config_parse_size, 0, false },
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
	return config_check_files(&p);
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
	return ret;
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
