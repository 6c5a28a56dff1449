/* config: the command line, its defaults and every way to get it wrong. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/util.h"

static char kernel[64];
static struct config cfg;
static char err[512];

static void setup(void)
{
	int fd;

	strcpy(kernel, "/tmp/evmm-test-kernel-XXXXXX");
	fd = mkstemp(kernel);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "MZ", 2), 2);
	close(fd);
}

static void teardown(void)
{
	config_free(&cfg);
	unlink(kernel);
}

/* Parses "evmm [--kernel <temp file>] args..." */
static int parse(bool with_kernel, const char **args)
{
	char *argv[128];
	int argc = 0;

	argv[argc++] = (char *)*args++;
	if (with_kernel) {
		argv[argc++] = "--kernel";
		argv[argc++] = kernel;
	}
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	memset(err, 0, sizeof(err));
	config_free(&cfg);
	return config_parse(&cfg, argc, argv, err, sizeof(err));
}

#define ARGS(...)	((const char *[]){ "evmm", ##__VA_ARGS__, NULL })
#define RUN(...)	parse(true, ARGS(__VA_ARGS__))
#define RUN_RAW(...)	parse(false, ARGS(__VA_ARGS__))

/* A failure: the errno, and one line naming the option. */
#define ck_assert_fails(ret, expect, opt) do {				\
	ck_assert_int_eq(ret, expect);					\
	ck_assert_msg(strstr(err, opt), "\"%s\" does not name %s", err, opt); \
	ck_assert_msg(!strchr(err, '\n'), "\"%s\" is not one line", err); \
} while (0)

/* A bad value: the message also gives the accepted form. */
#define ck_assert_bad(ret, opt) do {					\
	ck_assert_fails(ret, -EINVAL, opt);				\
	ck_assert_msg(strstr(err, "accepted form"), "\"%s\": no form", err); \
} while (0)

/* Defaults and good forms */

START_TEST(test_defaults)
{
	ck_assert_int_eq(RUN(), CONFIG_RUN);
	ck_assert_str_eq(cfg.kernel, kernel);
	ck_assert_ptr_null(cfg.initramfs);
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0");
	ck_assert_uint_eq(cfg.boot_vcpus, 1);
	ck_assert_uint_eq(cfg.max_vcpus, 1);
	ck_assert_uint_eq(cfg.mem_size, 512 * MiB);
	ck_assert_uint_eq(cfg.hotplug_size, 0);
	ck_assert_int_eq(cfg.serial, SERIAL_TTY);
	ck_assert_ptr_null(cfg.api_socket);
	ck_assert_int_eq(cfg.seccomp, SECCOMP_ON);
	ck_assert_int_eq(cfg.log_level, LOG_WARN);
	ck_assert_uint_eq(cfg.ndisks, 0);
	ck_assert_uint_eq(cfg.nnets, 0);
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_initramfs_cmdline)
{
	ck_assert_int_eq(RUN("--initramfs", kernel, "--cmdline",
			     "console=ttyS0 quiet"), CONFIG_RUN);
	ck_assert_str_eq(cfg.initramfs, kernel);
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
}
END_TEST

START_TEST(test_cmdline_max)
{
	static char line[4096];

	memset(line, 'a', 4095);
	ck_assert_int_eq(RUN("--cmdline", line), CONFIG_RUN);
	ck_assert_uint_eq(strlen(cfg.cmdline), 4095);
}
END_TEST

START_TEST(test_cpus_boot)
{
	ck_assert_int_eq(RUN("--cpus", "boot=2"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.boot_vcpus, 2);
	ck_assert_uint_eq(cfg.max_vcpus, 2);
}
END_TEST

START_TEST(test_cpus_boot_max)
{
	ck_assert_int_eq(RUN("--cpus", "boot=2,max=8"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.boot_vcpus, 2);
	ck_assert_uint_eq(cfg.max_vcpus, 8);
}
END_TEST

START_TEST(test_cpus_max_only)
{
	ck_assert_int_eq(RUN("--cpus", "max=8"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.boot_vcpus, 1);
	ck_assert_uint_eq(cfg.max_vcpus, 8);
}
END_TEST

START_TEST(test_cpus_limit)
{
	ck_assert_int_eq(RUN("--cpus", "max=254,boot=254"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.boot_vcpus, CONFIG_MAX_VCPUS);
	ck_assert_uint_eq(cfg.max_vcpus, CONFIG_MAX_VCPUS);
}
END_TEST

START_TEST(test_memory_size)
{
	ck_assert_int_eq(RUN("--memory", "size=1G"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.mem_size, GiB);
	ck_assert_uint_eq(cfg.hotplug_size, 0);
}
END_TEST

START_TEST(test_memory_hotplug)
{
	ck_assert_int_eq(RUN("--memory", "size=1G,hotplug_size=4G"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.mem_size, GiB);
	ck_assert_uint_eq(cfg.hotplug_size, 4 * GiB);
}
END_TEST

START_TEST(test_memory_hotplug_only)
{
	ck_assert_int_eq(RUN("--memory", "hotplug_size=128M"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.mem_size, 512 * MiB);
	ck_assert_uint_eq(cfg.hotplug_size, 128 * MiB);
}
END_TEST

START_TEST(test_memory_units)
{
	ck_assert_int_eq(RUN("--memory", "size=134217728"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.mem_size, 128 * MiB);
	ck_assert_int_eq(RUN("--memory", "size=65536k"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.mem_size, 64 * MiB);
	ck_assert_int_eq(RUN("--memory", "size=2048m"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.mem_size, 2 * GiB);
	ck_assert_int_eq(RUN("--memory", "size=2g"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.mem_size, 2 * GiB);
}
END_TEST

/* RAM above the MMIO hole plus hotplug reaches exactly 1 TiB. */
START_TEST(test_memory_max)
{
	ck_assert_int_eq(RUN("--memory", "size=4G,hotplug_size=1019G"),
			 CONFIG_RUN);
	ck_assert_uint_eq(cfg.hotplug_size, 1019 * GiB);
}
END_TEST

START_TEST(test_serial_off)
{
	ck_assert_int_eq(RUN("--serial", "off"), CONFIG_RUN);
	ck_assert_int_eq(cfg.serial, SERIAL_OFF);
	ck_assert_int_eq(RUN("--serial", "tty"), CONFIG_RUN);
	ck_assert_int_eq(cfg.serial, SERIAL_TTY);
}
END_TEST

START_TEST(test_serial_file)
{
	ck_assert_int_eq(RUN("--serial", "file=/tmp/console.log"), CONFIG_RUN);
	ck_assert_int_eq(cfg.serial, SERIAL_FILE);
	ck_assert_str_eq(cfg.serial_path, "/tmp/console.log");
}
END_TEST

START_TEST(test_api_socket)
{
	ck_assert_int_eq(RUN("--api-socket", "/tmp/evmm.sock"), CONFIG_RUN);
	ck_assert_str_eq(cfg.api_socket, "/tmp/evmm.sock");
}
END_TEST

START_TEST(test_api_socket_path_form)
{
	ck_assert_int_eq(RUN("--api-socket", "path=/tmp/evmm.sock"), CONFIG_RUN);
	ck_assert_str_eq(cfg.api_socket, "/tmp/evmm.sock");
}
END_TEST

START_TEST(test_seccomp)
{
	ck_assert_int_eq(RUN("--seccomp", "false"), CONFIG_RUN);
	ck_assert_int_eq(cfg.seccomp, SECCOMP_OFF);
	ck_assert_int_eq(RUN("--seccomp", "log"), CONFIG_RUN);
	ck_assert_int_eq(cfg.seccomp, SECCOMP_LOG);
	ck_assert_int_eq(RUN("--seccomp", "true"), CONFIG_RUN);
	ck_assert_int_eq(cfg.seccomp, SECCOMP_ON);
}
END_TEST

START_TEST(test_log_level)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		ck_assert_int_eq(RUN("--log-level", names[i]), CONFIG_RUN);
		ck_assert_int_eq(cfg.log_level, (int)i);
	}
}
END_TEST

START_TEST(test_verbose)
{
	ck_assert_int_eq(RUN("-v"), CONFIG_RUN);
	ck_assert_int_eq(cfg.log_level, LOG_INFO);
	ck_assert_int_eq(RUN("-v", "-v"), CONFIG_RUN);
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	ck_assert_int_eq(RUN("-vvvv"), CONFIG_RUN);
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	ck_assert_int_eq(RUN("--log-level", "error", "-v"), CONFIG_RUN);
	ck_assert_int_eq(cfg.log_level, LOG_WARN);
}
END_TEST

START_TEST(test_version)
{
	ck_assert_int_eq(RUN_RAW("--version"), CONFIG_EXIT);
}
END_TEST

START_TEST(test_help)
{
	ck_assert_int_eq(RUN_RAW("--help"), CONFIG_EXIT);
	ck_assert_int_eq(RUN_RAW("-h"), CONFIG_EXIT);
	/* Help wins over a later mistake. */
	ck_assert_int_eq(RUN_RAW("-h", "--bogus"), CONFIG_EXIT);
}
END_TEST

/* Every call starts from the defaults, also after an error. */
START_TEST(test_repeated)
{
	ck_assert_int_eq(RUN("--cpus", "boot=4", "--serial", "off"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.boot_vcpus, 4);
	ck_assert_bad(RUN("--cpus", "boot=0"), "--cpus");
	ck_assert_int_eq(RUN("--memory", "size=1G"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.boot_vcpus, 1);
	ck_assert_int_eq(cfg.serial, SERIAL_TTY);
	ck_assert_uint_eq(cfg.mem_size, GiB);
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_parse_size)
{
	uint64_t v;

	ck_assert_int_eq(config_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(config_parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(config_parse_size("1K", &v), 0);
	ck_assert_uint_eq(v, KiB);
	ck_assert_int_eq(config_parse_size("512M", &v), 0);
	ck_assert_uint_eq(v, 512 * MiB);
	ck_assert_int_eq(config_parse_size("3g", &v), 0);
	ck_assert_uint_eq(v, 3 * GiB);
	ck_assert_int_eq(config_parse_size("17179869183G", &v), 0);
	ck_assert_int_eq(config_parse_size("17179869184G", &v), -ERANGE);
	ck_assert_int_eq(config_parse_size("99999999999999999999", &v), -ERANGE);
	ck_assert_int_eq(config_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(config_parse_size("M", &v), -EINVAL);
	ck_assert_int_eq(config_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(config_parse_size(" 1", &v), -EINVAL);
	ck_assert_int_eq(config_parse_size("12Q", &v), -EINVAL);
	ck_assert_int_eq(config_parse_size("1MB", &v), -EINVAL);
	ck_assert_int_eq(config_parse_size("1T", &v), -EINVAL);
}
END_TEST

START_TEST(test_check_host)
{
	ck_assert_int_eq(RUN("--cpus", "boot=2,max=8"), CONFIG_RUN);
	ck_assert_int_eq(config_check_host(&cfg, 8, 40, err, sizeof(err)), 0);
	ck_assert_fails(config_check_host(&cfg, 4, 40, err, sizeof(err)),
			-EINVAL, "--cpus");
	ck_assert_ptr_nonnull(strstr(err, "max (8)"));
}
END_TEST

/* The hotplug region must end inside the guest's physical address width. */
START_TEST(test_check_host_phys_bits)
{
	ck_assert_int_eq(RUN("--memory", "size=1G,hotplug_size=28G"),
			 CONFIG_RUN);
	/* [4 GiB, 32 GiB) fits 35 bits exactly, not 34. */
	ck_assert_int_eq(config_check_host(&cfg, 8, 35, err, sizeof(err)), 0);
	ck_assert_fails(config_check_host(&cfg, 8, 34, err, sizeof(err)),
			-EINVAL, "--memory");
	ck_assert_ptr_nonnull(strstr(err, "34-bit"));
	/* No hotplug region: nothing to check. */
	ck_assert_int_eq(RUN("--memory", "size=1G"), CONFIG_RUN);
	ck_assert_int_eq(config_check_host(&cfg, 8, 30, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_hotplug_base)
{
	/* Up to 3 GiB of boot RAM: the region starts at 4 GiB. */
	ck_assert_uint_eq(config_hotplug_base(512ULL << 20), 4ULL << 30);
	ck_assert_uint_eq(config_hotplug_base(3ULL << 30), 4ULL << 30);
	/* Above: after the high part, rounded up to 128 MiB. */
	ck_assert_uint_eq(config_hotplug_base((3ULL << 30) + (2 << 20)),
			  (4ULL << 30) + (128 << 20));
	ck_assert_uint_eq(config_hotplug_base(4ULL << 30), 5ULL << 30);
}
END_TEST

/* --cpus errors */

START_TEST(test_cpus_zero)
{
	ck_assert_bad(RUN("--cpus", "boot=0"), "--cpus");
}
END_TEST

START_TEST(test_cpus_max_zero)
{
	ck_assert_bad(RUN("--cpus", "max=0"), "--cpus");
}
END_TEST

START_TEST(test_cpus_negative)
{
	ck_assert_bad(RUN("--cpus", "boot=-1"), "--cpus");
}
END_TEST

START_TEST(test_cpus_not_numeric)
{
	ck_assert_bad(RUN("--cpus", "boot=two"), "--cpus");
	ck_assert_ptr_nonnull(strstr(err, "cannot parse boot \"two\""));
}
END_TEST

START_TEST(test_cpus_trailing)
{
	ck_assert_bad(RUN("--cpus", "boot=4x"), "--cpus");
}
END_TEST

START_TEST(test_cpus_overflow)
{
	ck_assert_bad(RUN("--cpus", "boot=99999999999999999999"), "--cpus");
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	/* Above UINT_MAX but not UINT64_MAX: must not wrap to 1. */
	ck_assert_bad(RUN("--cpus", "boot=4294967297"), "--cpus");
}
END_TEST

START_TEST(test_cpus_max_below_boot)
{
	ck_assert_bad(RUN("--cpus", "boot=4,max=2"), "--cpus");
	ck_assert_str_eq(err, "--cpus: max (2) is lower than boot (4); "
			 "accepted form: boot=N[,max=M] with "
			 "1 <= boot <= max <= 254");
}
END_TEST

START_TEST(test_cpus_max_too_high)
{
	ck_assert_bad(RUN("--cpus", "boot=1,max=255"), "--cpus");
	ck_assert_bad(RUN("--cpus", "boot=255"), "--cpus");
}
END_TEST

START_TEST(test_cpus_duplicate)
{
	ck_assert_bad(RUN("--cpus", "boot=1,boot=2"), "--cpus");
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
}
END_TEST

START_TEST(test_cpus_empty_value)
{
	ck_assert_bad(RUN("--cpus", "boot="), "--cpus");
	ck_assert_bad(RUN("--cpus", "boot=2,"), "--cpus");
	ck_assert_bad(RUN("--cpus", ""), "--cpus");
}
END_TEST

START_TEST(test_cpus_unknown_key)
{
	ck_assert_bad(RUN("--cpus", "boot=2,foo=1"), "--cpus");
	ck_assert_ptr_nonnull(strstr(err, "unknown key \"foo\""));
}
END_TEST

START_TEST(test_cpus_no_key)
{
	ck_assert_bad(RUN("--cpus", "4"), "--cpus");
}
END_TEST

/* --memory errors */

START_TEST(test_memory_unparseable)
{
	ck_assert_bad(RUN("--memory", "size=12Q"), "--memory");
	ck_assert_str_eq(err, "--memory: cannot parse size \"12Q\"; accepted "
			 "form: size=SIZE[,hotplug_size=SIZE], SIZE in bytes or "
			 "with K/M/G");
}
END_TEST

START_TEST(test_memory_zero)
{
	ck_assert_bad(RUN("--memory", "size=0"), "--memory");
}
END_TEST

START_TEST(test_memory_too_small)
{
	ck_assert_bad(RUN("--memory", "size=32M"), "--memory");
}
END_TEST

START_TEST(test_memory_not_multiple)
{
	ck_assert_bad(RUN("--memory", "size=513M"), "--memory");
	ck_assert_bad(RUN("--memory", "size=536870913"), "--memory");
}
END_TEST

START_TEST(test_memory_hotplug_not_multiple)
{
	ck_assert_bad(RUN("--memory", "size=1G,hotplug_size=100M"), "--memory");
	ck_assert_ptr_nonnull(strstr(err, "hotplug_size"));
}
END_TEST

START_TEST(test_memory_overflow)
{
	ck_assert_bad(RUN("--memory", "size=99999999999G"), "--memory");
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	ck_assert_bad(RUN("--memory", "size=1G,hotplug_size=16777216G"),
		      "--memory");
}
END_TEST

START_TEST(test_memory_above_1t)
{
	ck_assert_bad(RUN("--memory", "size=1T"), "--memory");
	ck_assert_bad(RUN("--memory", "size=1024G"), "--memory");
	ck_assert_bad(RUN("--memory", "size=512G,hotplug_size=512G"),
		      "--memory");
	/* The MMIO hole counts. */
	ck_assert_bad(RUN("--memory", "size=4G,hotplug_size=1020G"),
		      "--memory");
}
END_TEST

START_TEST(test_memory_duplicate)
{
	ck_assert_bad(RUN("--memory", "size=1G,size=2G"), "--memory");
}
END_TEST

START_TEST(test_memory_empty_value)
{
	ck_assert_bad(RUN("--memory", "size="), "--memory");
}
END_TEST

START_TEST(test_memory_unknown_key)
{
	ck_assert_bad(RUN("--memory", "size=1G,shared=on"), "--memory");
}
END_TEST

/* --disk and --net */

/* printf into one of a few static buffers: arguments built at run time. */
__attribute__((format(printf, 1, 2)))
static const char *fmt(const char *f, ...)
{
	static char bufs[8][PATH_MAX + 64];
	static unsigned int next;
	char *b = bufs[next++ % 8];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(bufs[0]), f, ap);
	va_end(ap);
	return b;
}

static const char *mac_str(const uint8_t *m)
{
	return fmt("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		   m[4], m[5]);
}

START_TEST(test_disk_defaults)
{
	ck_assert_int_eq(RUN("--disk", "path=/img/root.img"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.ndisks, 1);
	ck_assert_str_eq(cfg.disks[0].path, "/img/root.img");
	ck_assert(!cfg.disks[0].readonly);
	ck_assert(!cfg.disks[0].direct);
	ck_assert_uint_eq(cfg.disks[0].num_queues, 1);
	ck_assert_uint_eq(cfg.disks[0].queue_size, 128);
	ck_assert_str_eq(cfg.disks[0].id, "_disk0");
	ck_assert_str_eq(cfg.disks[0].serial, "");
	ck_assert_uint_eq(config_disk_slot(&cfg, 0), 1);
}
END_TEST

START_TEST(test_disk_all_keys)
{
	ck_assert_int_eq(RUN("--cpus", "boot=4", "--disk", "serial=SN-0123 45,"
			     "queue_size=1024,num_queues=4,id=root,direct=on,"
			     "readonly=on,path=/img/a=b.img"), CONFIG_RUN);
	ck_assert_str_eq(cfg.disks[0].path, "/img/a=b.img");
	ck_assert(cfg.disks[0].readonly);
	ck_assert(cfg.disks[0].direct);
	ck_assert_str_eq(cfg.disks[0].id, "root");
	ck_assert_uint_eq(cfg.disks[0].num_queues, 4);
	ck_assert_uint_eq(cfg.disks[0].queue_size, 1024);
	ck_assert_str_eq(cfg.disks[0].serial, "SN-0123 45");
}
END_TEST

/* Cloud Hypervisor's toggles: on, off, true, false, in any case. */
START_TEST(test_disk_toggles)
{
	static const char *const on[] = { "on", "ON", "true", "True" };
	static const char *const off[] = { "off", "Off", "false", "FALSE" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(on); i++) {
		ck_assert_int_eq(RUN("--disk", fmt("path=/a,readonly=%s,"
				     "direct=%s", on[i], off[i])), CONFIG_RUN);
		ck_assert(cfg.disks[0].readonly && !cfg.disks[0].direct);
		ck_assert_int_eq(RUN("--disk", fmt("path=/a,readonly=%s,"
				     "direct=%s", off[i], on[i])), CONFIG_RUN);
		ck_assert(!cfg.disks[0].readonly && cfg.disks[0].direct);
	}
}
END_TEST

/* The limits themselves are accepted. */
START_TEST(test_disk_limits)
{
	ck_assert_int_eq(RUN("--cpus", "boot=254", "--disk", "path=/a,"
			     "num_queues=254,queue_size=32768,serial="
			     "12345678901234567890"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.disks[0].num_queues, 254);
	ck_assert_uint_eq(cfg.disks[0].queue_size, 32768);
	ck_assert_str_eq(cfg.disks[0].serial, "12345678901234567890");
	ck_assert_int_eq(RUN("--disk", "path=/a,queue_size=4"), CONFIG_RUN);
	ck_assert_int_eq(RUN("--disk", fmt("path=/a,id=%063d", 7)), CONFIG_RUN);
}
END_TEST

START_TEST(test_net_defaults)
{
	ck_assert_int_eq(RUN("--net", "tap=evmmtap0"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nnets, 1);
	ck_assert_str_eq(cfg.nets[0].tap, "evmmtap0");
	ck_assert_str_eq(cfg.nets[0].id, "_net0");
	ck_assert_uint_eq(cfg.nets[0].num_queues, 2);
	ck_assert_uint_eq(cfg.nets[0].queue_size, 256);
	ck_assert(!cfg.nets[0].has_ip);
	ck_assert(!cfg.nets[0].has_host_mac);
	ck_assert_uint_eq(cfg.nets[0].mtu, 0);
	ck_assert(cfg.nets[0].offload_tso && cfg.nets[0].offload_ufo &&
		  cfg.nets[0].offload_csum);
	/* Locally administered unicast. */
	ck_assert_uint_eq(cfg.nets[0].mac[0] & 3, 2);
	ck_assert_uint_eq(config_net_slot(&cfg, 0), 1);
}
END_TEST

START_TEST(test_net_all_keys)
{
	char ip[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN];

	ck_assert_int_eq(RUN("--cpus", "boot=2", "--net", "queue_size=1024,"
			     "num_queues=4,id=eth0,mask=255.255.252.0,"
			     "ip=192.168.249.1,mac=52:54:00:AB:cd:0f,tap=t0,"
			     "host_mac=02:00:00:00:00:0A,mtu=9000,"
			     "offload_tso=off,offload_ufo=false,"
			     "offload_csum=OFF"), CONFIG_RUN);
	ck_assert_str_eq(cfg.nets[0].tap, "t0");
	ck_assert_str_eq(mac_str(cfg.nets[0].mac), "52:54:00:ab:cd:0f");
	ck_assert(cfg.nets[0].has_host_mac);
	ck_assert_str_eq(mac_str(cfg.nets[0].host_mac), "02:00:00:00:00:0a");
	ck_assert_uint_eq(cfg.nets[0].mtu, 9000);
	ck_assert(!cfg.nets[0].offload_tso && !cfg.nets[0].offload_ufo &&
		  !cfg.nets[0].offload_csum);
	ck_assert(cfg.nets[0].has_ip);
	inet_ntop(AF_INET, &cfg.nets[0].ip, ip, sizeof(ip));
	inet_ntop(AF_INET, &cfg.nets[0].mask, mask, sizeof(mask));
	ck_assert_str_eq(ip, "192.168.249.1");
	ck_assert_str_eq(mask, "255.255.252.0");
	ck_assert_str_eq(cfg.nets[0].id, "eth0");
	ck_assert_uint_eq(cfg.nets[0].num_queues, 4);
	ck_assert_uint_eq(cfg.nets[0].queue_size, 1024);
}
END_TEST

START_TEST(test_net_limits)
{
	ck_assert_int_eq(RUN("--cpus", "boot=127", "--net", "tap=123456789012345,"
			     "num_queues=254,queue_size=32768,mask=0.0.0.0,"
			     "ip=10.0.0.1"), CONFIG_RUN);
	ck_assert_str_eq(cfg.nets[0].tap, "123456789012345");
	ck_assert_uint_eq(cfg.nets[0].num_queues, 254);
	ck_assert_int_eq(RUN("--net", "tap=t,queue_size=1,ip=10.0.0.1,"
			     "mask=255.255.255.255,mtu=68"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nets[0].queue_size, 1);
	ck_assert_uint_eq(cfg.nets[0].mtu, 68);
	ck_assert_int_eq(RUN("--net", "mtu=65521"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nets[0].mtu, 65521);
}
END_TEST

/*
 * The generated MAC is a promise (DESIGN.md, config.h): the same command
 * line gives the same MAC, in every evmm version. These are its values.
 */
START_TEST(test_net_mac_stable)
{
	ck_assert_int_eq(RUN("--net", "tap=evmmtap0", "--net", "tap=tap1"),
			 CONFIG_RUN);
	ck_assert_str_eq(mac_str(cfg.nets[0].mac), "fe:f5:54:9a:e1:a8");
	ck_assert_str_eq(mac_str(cfg.nets[1].mac), "4a:b2:59:e1:86:f1");
	ck_assert_int_eq(RUN("--net", "tap=tap1"), CONFIG_RUN);
	ck_assert_str_eq(mac_str(cfg.nets[0].mac), "da:6e:8f:37:8f:9d");
	/* A given MAC is kept, and does not shift the others. */
	ck_assert_int_eq(RUN("--net", "tap=x,mac=02:00:00:00:00:01", "--net",
			     "tap=tap1"), CONFIG_RUN);
	ck_assert_str_eq(mac_str(cfg.nets[0].mac), "02:00:00:00:00:01");
	ck_assert_str_eq(mac_str(cfg.nets[1].mac), "4a:b2:59:e1:86:f1");
}
END_TEST

/* Cloud Hypervisor's ids: one counter, disks then nets, given ids skipped. */
START_TEST(test_device_ids)
{
	ck_assert_int_eq(RUN("--net", "tap=t", "--disk", "path=/a", "--disk",
			     "path=/b"), CONFIG_RUN);
	ck_assert_str_eq(cfg.disks[0].id, "_disk0");
	ck_assert_str_eq(cfg.disks[1].id, "_disk1");
	ck_assert_str_eq(cfg.nets[0].id, "_net2");
	ck_assert_int_eq(RUN("--disk", "path=/a", "--disk", "path=/b,id=_disk0",
			     "--net", "tap=t,id=_net1", "--net", "tap=u",
			     "--disk", "path=/c,id=data"), CONFIG_RUN);
	ck_assert_str_eq(cfg.disks[0].id, "_disk1");
	ck_assert_str_eq(cfg.disks[1].id, "_disk0");
	ck_assert_str_eq(cfg.disks[2].id, "data");
	ck_assert_str_eq(cfg.nets[0].id, "_net1");
	ck_assert_str_eq(cfg.nets[1].id, "_net2");
}
END_TEST

/* Disks first, in command-line order, then nets, whatever the order. */
START_TEST(test_device_slots)
{
	ck_assert_int_eq(RUN("--net", "tap=t0", "--disk", "path=/a", "--net",
			     "tap=t1", "--disk", "path=/b"), CONFIG_RUN);
	ck_assert_str_eq(cfg.disks[0].path, "/a");
	ck_assert_str_eq(cfg.disks[1].path, "/b");
	ck_assert_str_eq(cfg.nets[0].tap, "t0");
	ck_assert_str_eq(cfg.nets[1].tap, "t1");
	ck_assert_uint_eq(config_disk_slot(&cfg, 0), 1);
	ck_assert_uint_eq(config_disk_slot(&cfg, 1), 2);
	ck_assert_uint_eq(config_net_slot(&cfg, 0), 3);
	ck_assert_uint_eq(config_net_slot(&cfg, 1), 4);
}
END_TEST

/* 31 devices fill slots 1-31; a 32nd of either kind is refused. */
START_TEST(test_device_max)
{
	const char *args[2 * CONFIG_PCI_SLOTS + 2] = { "evmm" };
	static char vals[CONFIG_MAX_DEVICES][16];
	unsigned int i, n = 1;

	for (i = 0; i < CONFIG_MAX_DEVICES; i++) {
		snprintf(vals[i], sizeof(vals[i]), i < 20 ? "path=/img/%u" :
			 "tap=t%u", i);
		args[n++] = i < 20 ? "--disk" : "--net";
		args[n++] = vals[i];
	}
	args[n] = NULL;
	ck_assert_int_eq(parse(true, args), CONFIG_RUN);
	ck_assert_uint_eq(config_net_slot(&cfg, cfg.nnets - 1), 31);
	args[n++] = "--disk";
	args[n++] = "path=/img/last";
	args[n] = NULL;
	ck_assert_bad(parse(true, args), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "more than 31 devices"));
	args[n - 2] = "--net";
	args[n - 1] = "tap=last";
	ck_assert_bad(parse(true, args), "--net");
}
END_TEST

/* One kind alone fills the bus too (the 32nd must not write past it). */
START_TEST(test_device_max_one_kind)
{
	const char *args[2 * CONFIG_PCI_SLOTS + 2] = { "evmm" };
	static char vals[CONFIG_PCI_SLOTS][16];
	unsigned int i, n, kind;

	for (kind = 0; kind < 2; kind++) {
		for (i = 0, n = 1; i < CONFIG_PCI_SLOTS; i++) {
			snprintf(vals[i], sizeof(vals[i]), kind ? "tap=t%u" :
				 "path=/img/%u", i);
			args[n++] = kind ? "--net" : "--disk";
			args[n++] = vals[i];
		}
		args[n] = NULL;
		ck_assert_bad(parse(true, args), kind ? "--net" : "--disk");
		ck_assert_ptr_nonnull(strstr(err, "more than 31 devices"));
		args[n - 2] = NULL;
		ck_assert_msg(parse(true, args) == CONFIG_RUN, "%s", err);
		ck_assert_uint_eq(kind ? cfg.nnets : cfg.ndisks, 31);
	}
}
END_TEST

/* --disk errors */

START_TEST(test_disk_unknown_key)
{
	ck_assert_bad(RUN("--disk", "path=/a,vhost_user=on"), "--disk");
	ck_assert_str_eq(err, "--disk: unknown key \"vhost_user\"; accepted "
			 "form: " CONFIG_DISK_FORM);
}
END_TEST

START_TEST(test_disk_no_path)
{
	ck_assert_bad(RUN("--disk", "readonly=on"), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "path is required"));
	ck_assert_bad(RUN("--disk", "path="), "--disk");
	ck_assert_bad(RUN("--disk", ""), "--disk");
	ck_assert_bad(RUN("--disk", "/img/root.img"), "--disk");
}
END_TEST

START_TEST(test_disk_bad_toggle)
{
	ck_assert_bad(RUN("--disk", "path=/a,readonly=yes"), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "readonly \"yes\""));
	ck_assert_bad(RUN("--disk", "path=/a,direct=1"), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "direct \"1\""));
}
END_TEST

START_TEST(test_disk_bad_num_queues)
{
	ck_assert_bad(RUN("--disk", "path=/a,num_queues=0"), "--disk");
	ck_assert_bad(RUN("--cpus", "boot=254", "--disk",
			  "path=/a,num_queues=256"), "--disk");
	ck_assert_bad(RUN("--disk", "path=/a,num_queues=-1"), "--disk");
	ck_assert_bad(RUN("--disk", "path=/a,num_queues=99999999999999999999"),
		      "--disk");
}
END_TEST

/* As Cloud Hypervisor: no more queues than boot vCPUs, whatever the order. */
START_TEST(test_disk_queues_vcpus)
{
	ck_assert_bad(RUN("--disk", "path=/a,num_queues=2"), "--disk");
	ck_assert_str_eq(err, "--disk: _disk0: num_queues (2) is more than the "
			 "boot vCPUs (1); accepted form: " CONFIG_DISK_FORM);
	ck_assert_int_eq(RUN("--disk", "path=/a,num_queues=2", "--cpus",
			     "boot=2"), CONFIG_RUN);
	ck_assert_bad(RUN("--cpus", "boot=2,max=8", "--disk", "path=/a,id=r,"
			  "num_queues=3"), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "r: num_queues (3)"));
}
END_TEST

START_TEST(test_disk_bad_queue_size)
{
	static const char *const bad[] = { "0", "2", "3", "100", "65536",
					   "4294967296", "x" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_bad(RUN("--disk", fmt("path=/a,queue_size=%s",
						bad[i])), "--disk");
		ck_assert_ptr_nonnull(strstr(err, "queue_size"));
	}
	ck_assert_bad(RUN("--disk", "path=/a,queue_size=2"), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "from 4 to 32768"));
}
END_TEST

START_TEST(test_disk_bad_serial)
{
	ck_assert_bad(RUN("--disk", "path=/a,serial=123456789012345678901"),
		      "--disk");
	ck_assert_ptr_nonnull(strstr(err, "at most 20"));
	ck_assert_bad(RUN("--disk", "path=/a,serial=a\tb"), "--disk");
	ck_assert_bad(RUN("--disk", "path=/a,serial=\xc3\xa9"), "--disk");
}
END_TEST

START_TEST(test_disk_bad_id)
{
	ck_assert_bad(RUN("--disk", "path=/a,id=__x"), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "reserved"));
	ck_assert_bad(RUN("--disk", fmt("path=/a,id=%064d", 7)), "--disk");
	ck_assert_bad(RUN("--disk", "path=/a,id=a b"), "--disk");
	ck_assert_bad(RUN("--disk", "path=/a,id=a\nb"), "--disk");
}
END_TEST

START_TEST(test_device_duplicate_id)
{
	ck_assert_bad(RUN("--disk", "path=/a,id=x", "--disk", "path=/b,id=x"),
		      "--disk");
	ck_assert_ptr_nonnull(strstr(err, "duplicate id \"x\""));
	ck_assert_bad(RUN("--disk", "path=/a,id=x", "--net", "tap=t,id=x"),
		      "--net");
	ck_assert_bad(RUN("--net", "tap=t,id=x", "--disk", "path=/a,id=x"),
		      "--disk");
	ck_assert_bad(RUN("--net", "tap=t,id=x", "--net", "tap=u,id=x"),
		      "--net");
}
END_TEST

/* One image, one disk: by name, and by inode under another name. */
START_TEST(test_disk_same_image)
{
	char link[80];

	ck_assert_bad(RUN("--disk", "path=/a", "--disk", "path=/a,readonly=on"),
		      "--disk");
	ck_assert_ptr_nonnull(strstr(err, "\"/a\" is already the image"));
	ck_assert_bad(RUN("--disk", fmt("path=%s", kernel), "--disk",
			  fmt("path=/tmp/../tmp/%s", kernel + 5)), "--disk");
	snprintf(link, sizeof(link), "%s.link", kernel);
	ck_assert_int_eq(symlink(kernel, link), 0);
	ck_assert_bad(RUN("--disk", fmt("path=%s", link), "--disk",
			  fmt("path=%s", kernel)), "--disk");
	unlink(link);
	/* Two files that do not exist yet are told apart by name. */
	ck_assert_int_eq(RUN("--disk", "path=/no/a", "--disk", "path=/no/b"),
			 CONFIG_RUN);
}
END_TEST

START_TEST(test_disk_path_too_long)
{
	static char path[PATH_MAX + 8];

	memset(path, 'a', PATH_MAX);
	path[0] = '/';
	ck_assert_bad(RUN("--disk", fmt("path=%s", path)), "--disk");
	ck_assert_ptr_nonnull(strstr(err, "longer than 4095"));
	path[PATH_MAX - 1] = '\0';
	ck_assert_int_eq(RUN("--disk", fmt("path=%s", path)), CONFIG_RUN);
}
END_TEST

/* An error after good devices leaves nothing behind (ASan checks). */
START_TEST(test_disk_error_frees)
{
	ck_assert_bad(RUN("--disk", "path=/a", "--disk", "path=/b", "--disk",
			  "path=/c,bad=1"), "--disk");
	ck_assert_uint_eq(cfg.ndisks, 0);
	ck_assert_bad(RUN("--disk", "path=/a", "--cpus", "boot=0"), "--cpus");
	ck_assert_uint_eq(cfg.ndisks, 0);
	ck_assert_int_eq(RUN("--disk", "path=/a", "--version"), CONFIG_EXIT);
	ck_assert_uint_eq(cfg.ndisks, 0);
}
END_TEST

/* --net errors */

START_TEST(test_net_unknown_key)
{
	ck_assert_bad(RUN("--net", "tap=t,fd=3"), "--net");
	ck_assert_str_eq(err, "--net: unknown key \"fd\"; accepted form: "
			 CONFIG_NET_FORM);
}
END_TEST

/* No tap=: evmm creates one (vmtapN); the MAC still stable. */
START_TEST(test_net_no_tap)
{
	ck_assert_int_eq(RUN("--net", "mac=52:54:00:12:34:56", "--net",
			     "id=second"), CONFIG_RUN);
	ck_assert_str_eq(cfg.nets[0].tap, "");
	ck_assert_str_eq(cfg.nets[1].tap, "");
	ck_assert_str_eq(mac_str(cfg.nets[1].mac), "66:57:98:47:77:ca");
	ck_assert_int_eq(RUN("--net", "id=x"), CONFIG_RUN);
	ck_assert_str_eq(mac_str(cfg.nets[0].mac), "f6:13:ce:9d:7f:76");
	ck_assert_bad(RUN("--net", "tap="), "--net");
	ck_assert_ptr_nonnull(strstr(err, "empty value"));
}
END_TEST

START_TEST(test_net_bad_mtu)
{
	static const char *const bad[] = { "0", "67", "65522", "1500k", "-1",
					   "" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_bad(RUN("--net", fmt("tap=t,mtu=%s", bad[i])),
			      "--net");
	ck_assert_ptr_nonnull(strstr(err, "mtu"));
	ck_assert_bad(RUN("--net", "mtu=67"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "mtu (67) is not from 68 to 65521"));
}
END_TEST

START_TEST(test_net_bad_host_mac)
{
	ck_assert_bad(RUN("--net", "host_mac=52:54:00:12:34"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "host_mac \"52:54:00:12:34\" is not "
				     "six two-digit hex"));
	ck_assert_bad(RUN("--net", "host_mac=01:00:5e:00:00:01"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "multicast"));
	ck_assert_bad(RUN("--net", "host_mac=00:00:00:00:00:00"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "all zeros"));
	ck_assert_bad(RUN("--net", "offload_tso=maybe"), "--net");
}
END_TEST

START_TEST(test_net_bad_tap)
{
	static const char *const bad[] = { "1234567890123456", ".", "..",
					   "a/b", "a:1", "a b", "t\x1b" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_bad(RUN("--net", fmt("tap=%s", bad[i])), "--net");
		ck_assert_ptr_nonnull(strstr(err, "not an interface name"));
	}
	ck_assert_bad(RUN("--net", "tap=t", "--net", "tap=t"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "already used"));
}
END_TEST

START_TEST(test_net_bad_mac)
{
	static const char *const bad[] = { "52:54:00:12:34", "52:54:00:12:34:5g",
		"525400123456", "52:54:00:12:34:56:78", "52-54-00-12-34-56",
		"2:54:00:12:34:56", "52:54:00:12:34:567", "52:54:00:12:34:56:",
		" 52:54:00:12:34:56", "+2:54:00:12:34:56" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_bad(RUN("--net", fmt("tap=t,mac=%s", bad[i])),
			      "--net");
		ck_assert_ptr_nonnull(strstr(err, "not six two-digit hex"));
	}
	ck_assert_bad(RUN("--net", "tap=t,mac=01:00:5e:00:00:01"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "multicast"));
	ck_assert_bad(RUN("--net", "tap=t,mac=ff:ff:ff:ff:ff:ff"), "--net");
	ck_assert_bad(RUN("--net", "tap=t,mac=00:00:00:00:00:00"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "all zeros"));
}
END_TEST

START_TEST(test_net_ip_mask)
{
	ck_assert_bad(RUN("--net", "tap=t,ip=192.168.249.1"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "ip without mask"));
	ck_assert_bad(RUN("--net", "tap=t,mask=255.255.255.0"), "--net");
	ck_assert_ptr_nonnull(strstr(err, "mask without ip"));
}
END_TEST

START_TEST(test_net_bad_ip)
{
	static const char *const bad[] = { "300.1.1.1", "192.168.1",
		"192.168.1.1.1", "192.168.01.1", "::1", "host", "1.2.3.4 " };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_bad(RUN("--net", fmt("tap=t,ip=%s,mask=255.0.0.0",
					       bad[i])), "--net");
		ck_assert_ptr_nonnull(strstr(err, "not an IPv4 address"));
	}
}
END_TEST

START_TEST(test_net_bad_mask)
{
	static const char *const bad[] = { "255.0.255.0", "0.255.255.255",
		"255.255.255.1", "255.255.256.0", "24", "/24" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_bad(RUN("--net", fmt("tap=t,ip=10.0.0.1,mask=%s",
					       bad[i])), "--net");
		ck_assert_ptr_nonnull(strstr(err, "not a netmask"));
	}
}
END_TEST

START_TEST(test_net_bad_num_queues)
{
	static const char *const bad[] = { "0", "1", "3", "255", "256" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_bad(RUN("--cpus", "boot=254", "--net",
				  fmt("tap=t,num_queues=%s", bad[i])), "--net");
		ck_assert_ptr_nonnull(strstr(err, "an even number from 2 to "
					     "254"));
	}
}
END_TEST

/* As Cloud Hypervisor: at most one RX/TX pair per boot vCPU. */
START_TEST(test_net_queues_vcpus)
{
	ck_assert_bad(RUN("--net", "tap=t,num_queues=4"), "--net");
	ck_assert_str_eq(err, "--net: _net0: num_queues (4) is more than two "
			 "per boot vCPU (1); accepted form: " CONFIG_NET_FORM);
	ck_assert_int_eq(RUN("--net", "tap=t,num_queues=4", "--cpus",
			     "boot=2"), CONFIG_RUN);
}
END_TEST

START_TEST(test_net_bad_queue_size)
{
	static const char *const bad[] = { "0", "3", "100", "65536" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_bad(RUN("--net", fmt("tap=t,queue_size=%s", bad[i])),
			      "--net");
		ck_assert_ptr_nonnull(strstr(err, "from 1 to 32768"));
	}
}
END_TEST

/* Files */

START_TEST(test_kernel_missing_option)
{
	ck_assert_bad(RUN_RAW("--cpus", "boot=2"), "--kernel");
}
END_TEST

START_TEST(test_kernel_no_such_file)
{
	ck_assert_fails(RUN_RAW("--kernel", "/x"), -ENOENT, "--kernel");
	ck_assert_str_eq(err, "--kernel: /x: No such file or directory");
}
END_TEST

START_TEST(test_kernel_not_regular)
{
	ck_assert_fails(RUN_RAW("--kernel", "/dev/null"), -EINVAL, "--kernel");
	ck_assert_fails(RUN_RAW("--kernel", "/tmp"), -EINVAL, "--kernel");
}
END_TEST

/* Run as root, drop to nobody so that the permission bits count. */
START_TEST(test_kernel_not_readable)
{
	int ret;

	ck_assert_int_eq(chmod(kernel, 0), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(seteuid(65534), 0);
	ret = RUN_RAW("--kernel", kernel);
	if (getuid() == 0)
		ck_assert_int_eq(seteuid(0), 0);
	ck_assert_fails(ret, -EACCES, "--kernel");
}
END_TEST

START_TEST(test_kernel_empty_path)
{
	ck_assert_bad(RUN_RAW("--kernel", ""), "--kernel");
}
END_TEST

START_TEST(test_initramfs_no_such_file)
{
	ck_assert_fails(RUN("--initramfs", "/no/such/initrd"), -ENOENT,
			"--initramfs");
}
END_TEST

START_TEST(test_initramfs_not_regular)
{
	ck_assert_fails(RUN("--initramfs", "/dev/null"), -EINVAL,
			"--initramfs");
}
END_TEST

/* getopt errors */

START_TEST(test_unknown_option)
{
	ck_assert_fails(RUN("--foo"), -EINVAL, "--foo");
	ck_assert_fails(RUN("-x"), -EINVAL, "-x");
}
END_TEST

START_TEST(test_missing_argument)
{
	ck_assert_bad(RUN("--cpus"), "--cpus");
	ck_assert_bad(RUN_RAW("--kernel"), "--kernel");
}
END_TEST

START_TEST(test_unexpected_argument)
{
	ck_assert_fails(RUN("--help=yes"), -EINVAL, "--help");
}
END_TEST

/* Found by fuzz_config: an argument's newline split the message. */
START_TEST(test_error_one_line)
{
	ck_assert_fails(RUN("stray\nline\x1b[2J"), -EINVAL, "stray?line?[2J");
	ck_assert_fails(RUN("--bogus\n"), -EINVAL, "--bogus?");
	ck_assert_fails(RUN("--initramfs", "/no\nfile"), -ENOENT, "/no?file");
}
END_TEST

START_TEST(test_stray_argument)
{
	ck_assert_fails(RUN("bzImage"), -EINVAL, "bzImage");
	ck_assert_fails(RUN("--", "-v"), -EINVAL, "-v");
}
END_TEST

/* Other values */

START_TEST(test_cmdline_too_long)
{
	static char line[4097];

	memset(line, 'a', 4096);
	ck_assert_bad(RUN("--cmdline", line), "--cmdline");
}
END_TEST

START_TEST(test_serial_bad)
{
	ck_assert_bad(RUN("--serial", "pty"), "--serial");
	ck_assert_bad(RUN("--serial", "file="), "--serial");
}
END_TEST

START_TEST(test_api_socket_bad)
{
	static char path[200];

	memset(path, 'a', sizeof(path) - 1);
	ck_assert_bad(RUN("--api-socket", path), "--api-socket");
	ck_assert_bad(RUN("--api-socket", ""), "--api-socket");
	ck_assert_bad(RUN("--api-socket", "path="), "--api-socket");
}
END_TEST

START_TEST(test_seccomp_bad)
{
	ck_assert_bad(RUN("--seccomp", "maybe"), "--seccomp");
}
END_TEST

START_TEST(test_log_level_bad)
{
	ck_assert_bad(RUN("--log-level", "trace"), "--log-level");
}
END_TEST

Suite *config_suite(void)
{
	const TTest *const tests[] = {
		test_defaults, test_initramfs_cmdline, test_cmdline_max,
		test_cpus_boot, test_cpus_boot_max, test_cpus_max_only,
		test_cpus_limit, test_memory_size, test_memory_hotplug,
		test_memory_hotplug_only, test_memory_units, test_memory_max,
		test_serial_off, test_serial_file, test_api_socket,
		test_api_socket_path_form, test_seccomp, test_log_level,
		test_verbose, test_version, test_help, test_repeated,
		test_parse_size, test_check_host, test_check_host_phys_bits,
		test_hotplug_base,
		test_cpus_zero, test_cpus_max_zero, test_cpus_negative,
		test_cpus_not_numeric, test_cpus_trailing, test_cpus_overflow,
		test_cpus_max_below_boot, test_cpus_max_too_high,
		test_cpus_duplicate, test_cpus_empty_value,
		test_cpus_unknown_key, test_cpus_no_key,
		test_memory_unparseable, test_memory_zero, test_memory_too_small,
		test_memory_not_multiple, test_memory_hotplug_not_multiple,
		test_memory_overflow, test_memory_above_1t,
		test_memory_duplicate, test_memory_empty_value,
		test_memory_unknown_key,
		test_kernel_missing_option, test_kernel_no_such_file,
		test_kernel_not_regular, test_kernel_not_readable,
		test_kernel_empty_path, test_initramfs_no_such_file,
		test_initramfs_not_regular,
		test_unknown_option, test_missing_argument,
		test_unexpected_argument, test_stray_argument,
		test_error_one_line,
		test_cmdline_too_long, test_serial_bad, test_api_socket_bad,
		test_seccomp_bad, test_log_level_bad,
		test_disk_defaults, test_disk_all_keys, test_disk_toggles,
		test_disk_limits, test_net_defaults, test_net_all_keys,
		test_net_limits, test_net_mac_stable, test_device_ids,
		test_device_slots, test_device_max, test_device_max_one_kind,
		test_disk_unknown_key, test_disk_no_path, test_disk_bad_toggle,
		test_disk_bad_num_queues, test_disk_queues_vcpus,
		test_disk_bad_queue_size, test_disk_bad_serial,
		test_disk_bad_id, test_device_duplicate_id,
		test_disk_same_image, test_disk_path_too_long,
		test_disk_error_frees,
		test_net_unknown_key, test_net_no_tap, test_net_bad_mtu,
		test_net_bad_host_mac, test_net_bad_tap,
		test_net_bad_mac, test_net_ip_mask, test_net_bad_ip,
		test_net_bad_mask, test_net_bad_num_queues,
		test_net_queues_vcpus, test_net_bad_queue_size,
	};
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}
