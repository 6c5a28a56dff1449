/*
 * vm.info's devices: config.disks and config.net in Cloud Hypervisor's
 * shapes with each device's PCI address, from a parsed command line and a
 * machine without KVM (as test_memhp_resize's).
 */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/cpu_hotplug.h"
#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/machine.h"
#include "vmm/util.h"

static char kernel[64];
static struct config cfg;
static struct machine m;
static bool present[2];
static json_t *info;

static void setup(void)
{
	int fd;

	strcpy(kernel, "/tmp/evmm-test-info-XXXXXX");
	fd = mkstemp(kernel);
	ck_assert_int_ge(fd, 0);
	close(fd);
	info = NULL;
}

static void teardown(void)
{
	json_decref(info);
	cpu_hotplug_free(m.cpu_hp);
	m.cpu_hp = NULL;
	config_free(&cfg);
	unlink(kernel);
}

/* "evmm --kernel K --cpus boot=2 args...", then vm.info's JSON in info. */
static void info_run(const char *const *args)
{
	static const uint32_t ids[2] = { 0, 1 };
	const char *argv[80] = { "evmm", "--kernel", kernel, "--cpus",
				 "boot=2" };
	struct api_request req = { .op = API_INFO };
	struct control c = { .m = &m };
	struct api_reply r = { 0 };
	json_error_t jerr;
	char err[512];
	int argc = 5;

	while (*args && argc < 79)
		argv[argc++] = *args++;
	ck_assert_msg(config_parse(&cfg, argc, (char **)argv, err,
				   sizeof(err)) == CONFIG_RUN, "%s", err);
	memset(&m, 0, sizeof(m));
	m.cfg = &cfg;
	m.cpu_present = present;
	present[0] = present[1] = true;
	m.cpus_requested = 2;
	m.mem_requested = cfg.mem_size;
	m.cpu_hp = cpu_hotplug_new(2, 2, ids, NULL, NULL);
	ck_assert_ptr_nonnull(m.cpu_hp);
	control_handle(&c, &req, &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	info = json_loads(r.body, 0, &jerr);
	ck_assert_msg(info, "%s: %s", r.body, jerr.text);
	api_reply_free(&r);
}

#define INFO(...)	info_run((const char *const[]){ __VA_ARGS__, NULL })

static json_t *config_get(const char *key)
{
	return json_object_get(json_object_get(info, "config"), key);
}

/* One device's object, compared as JSON text: every field, no other. */
static void ck_device(const char *key, size_t i, const char *expect)
{
	json_t *want = json_loads(expect, 0, NULL);
	json_t *got = json_array_get(config_get(key), i);
	char *text = got ? json_dumps(got, JSON_COMPACT) : NULL;

	ck_assert_ptr_nonnull(want);
	ck_assert_msg(json_equal(want, got), "%s[%zu] is %s", key, i, text);
	free(text);
	json_decref(want);
}

/* As Cloud Hypervisor: the keys are absent, not null or []. */
START_TEST(info_no_devices)
{
	INFO(NULL);
	ck_assert_ptr_nonnull(config_get("cpus"));
	ck_assert_ptr_null(config_get("disks"));
	ck_assert_ptr_null(config_get("net"));
}
END_TEST

START_TEST(info_disks)
{
	INFO("--disk", "path=/img/root.img", "--disk", "path=/img/data.img,"
	     "readonly=on,direct=on,id=data,num_queues=2,queue_size=256,"
	     "serial=SN-1");
	ck_assert_uint_eq(json_array_size(config_get("disks")), 2);
	ck_assert_ptr_null(config_get("net"));
	ck_device("disks", 0, "{\"path\":\"/img/root.img\",\"readonly\":false,"
		  "\"direct\":false,\"num_queues\":1,\"queue_size\":128,"
		  "\"id\":\"_disk0\",\"image_type\":\"Raw\",\"pci_segment\":0,"
		  "\"bdf\":\"0000:00:01.0\"}");
	ck_device("disks", 1, "{\"path\":\"/img/data.img\",\"readonly\":true,"
		  "\"direct\":true,\"num_queues\":2,\"queue_size\":256,"
		  "\"id\":\"data\",\"serial\":\"SN-1\",\"image_type\":\"Raw\","
		  "\"pci_segment\":0,\"bdf\":\"0000:00:02.0\"}");
}
END_TEST

/* Nets after the disks, whatever the order on the command line. */
START_TEST(info_nets)
{
	INFO("--net", "tap=evmmtap0", "--disk", "path=/img/root.img", "--net",
	     "tap=tap1,mac=52:54:00:12:34:56,ip=192.168.249.1,"
	     "mask=255.255.255.0,id=eth1,num_queues=4,queue_size=1024,"
	     "host_mac=02:00:00:00:00:01,mtu=9000,offload_tso=off");
	ck_assert_uint_eq(json_array_size(config_get("net")), 2);
	ck_device("net", 0, "{\"tap\":\"evmmtap0\",\"mac\":\"fe:f5:54:9a:e1:a8\","
		  "\"num_queues\":2,\"queue_size\":256,\"id\":\"_net1\","
		  "\"offload_tso\":true,\"offload_ufo\":true,"
		  "\"offload_csum\":true,"
		  "\"pci_segment\":0,\"bdf\":\"0000:00:02.0\"}");
	ck_device("net", 1, "{\"tap\":\"tap1\",\"ip\":\"192.168.249.1\","
		  "\"mask\":\"255.255.255.0\",\"mac\":\"52:54:00:12:34:56\","
		  "\"host_mac\":\"02:00:00:00:00:01\",\"mtu\":9000,"
		  "\"num_queues\":4,\"queue_size\":1024,\"id\":\"eth1\","
		  "\"offload_tso\":false,\"offload_ufo\":true,"
		  "\"offload_csum\":true,"
		  "\"pci_segment\":0,\"bdf\":\"0000:00:03.0\"}");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
		config_get("disks"), 0), "bdf")), "0000:00:01.0");
}
END_TEST

/* vm.counters without network cards: an empty object, as CH's. */
START_TEST(counters_empty)
{
	struct api_request req = { .op = API_COUNTERS };
	struct control c = { .m = &m };
	struct api_reply r = { 0 };

	INFO("--disk", "path=/img/root.img");
	control_handle(&c, &req, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{}");
	api_reply_free(&r);
}
END_TEST

/* The slot is hex in the address: slot 31 is 1f. */
START_TEST(info_last_slot)
{
	static char vals[CONFIG_MAX_DEVICES][16];
	const char *args[2 * CONFIG_MAX_DEVICES + 1];
	unsigned int i;

	for (i = 0; i < CONFIG_MAX_DEVICES; i++) {
		snprintf(vals[i], sizeof(vals[i]), "tap=t%u", i);
		args[2 * i] = "--net";
		args[2 * i + 1] = vals[i];
	}
	args[2 * i] = NULL;
	info_run(args);
	ck_assert_uint_eq(json_array_size(config_get("net")), 31);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
		config_get("net"), 30), "bdf")), "0000:00:1f.0");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
		config_get("net"), 9), "bdf")), "0000:00:0a.0");
}
END_TEST

/* A file name that is not UTF-8 still gives an answer (it was a 500). */
START_TEST(info_not_utf8)
{
	char odd[80];
	int fd;

	INFO("--disk", "path=/img/\xff\xfe.img", "--cmdline", "x=\xc3");
	ck_device("disks", 0, "{\"path\":\"/img/??.img\",\"readonly\":false,"
		  "\"direct\":false,\"num_queues\":1,\"queue_size\":128,"
		  "\"id\":\"_disk0\",\"image_type\":\"Raw\",\"pci_segment\":0,"
		  "\"bdf\":\"0000:00:01.0\"}");
	ck_assert_str_eq(json_string_value(json_object_get(config_get(
		"payload"), "cmdline")), "x=?");
	/* UTF-8 stays as it is. */
	json_decref(info);
	config_free(&cfg);
	cpu_hotplug_free(m.cpu_hp);
	snprintf(odd, sizeof(odd), "%s-\xc3\xa9\xff", kernel);
	fd = open(odd, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	INFO("--initramfs", odd, "--disk", "path=/\xc3\xa9");
	unlink(odd);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
		config_get("disks"), 0), "path")), "/\xc3\xa9");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(
		config_get("payload"), "initramfs")), "-???"));
}
END_TEST

Suite *info_suite(void)
{
	Suite *s = suite_create("info");
	TCase *tc = tcase_create("info");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, info_no_devices);
	tcase_add_test(tc, info_disks);
	tcase_add_test(tc, info_nets);
	tcase_add_test(tc, counters_empty);
	tcase_add_test(tc, info_last_slot);
	tcase_add_test(tc, info_not_utf8);
	suite_add_tcase(s, tc);
	return s;
}
