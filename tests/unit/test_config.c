/* config: the command line, its defaults and every way to get it wrong. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
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
	unlink(kernel);
}

/* Parses "evmm [--kernel <temp file>] args..." */
static int parse(bool with_kernel, const char **args)
{
	char *argv[64];
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
