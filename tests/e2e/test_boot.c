/*
 * A Linux guest on evmm: boot, what the guest sees, console input,
 * reboot, a panic, poweroff and SIGTERM. Boots are expensive in the
 * nested host (~10 s), so each test checks several things on one guest.
 */
#include <check.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e/guest.h"

static struct guest g;

static void teardown(void)
{
	guest_kill(&g);
}

static void expect_cpus(const struct guest_state *st, const char *present,
			const char *online)
{
	guest_check(&g, !strcmp(st->present, present),
		    "cpus_present=%s, expected %s", st->present, present);
	guest_check(&g, !strcmp(st->online, online),
		    "cpus_online=%s, expected %s", st->online, online);
}

static void expect_value(const char *cmd, const char *key, const char *want)
{
	const char *v = guest_query(&g, cmd, key);

	guest_check(&g, !strcmp(v, want), "\"%s\" gave %s\"%s\", expected "
		    "\"%s\"", cmd, key, v, want);
}

/* The exit status of evmm once it stopped, reported with its latency. */
static void expect_exit_0(const char *after)
{
	int status = guest_wait_exit(&g, T_EXIT);

	fprintf(stderr, "e2e: evmm exited %.3f s after %s\n",
		guest_elapsed(&g), after);
	guest_check(&g, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "evmm ended with wait status %#x, expected exit 0",
		    status);
}

static void poweroff(void)
{
	guest_send(&g, "poweroff");
	guest_expect(&g, "EVMM-INIT: poweroff", T_CMD);
	expect_exit_0("poweroff");
}

/* A line longer than the UART's FIFO and evmm's input buffer. */
static void expect_long_input(void)
{
	char cmd[2100];
	size_t n;

	strcpy(cmd, "echo len=$(echo ");
	n = strlen(cmd);
	memset(cmd + n, 'x', 2000);
	strcpy(cmd + n + 2000, " | wc -c)");
	expect_value(cmd, "len=", "2001");
}

/* Whether this host's KVM can emulate the TSC-deadline timer. */
static bool kvm_tsc_deadline(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool yes;

	ck_assert_int_ge(fd, 0);
	yes = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	close(fd);
	return yes;
}

START_TEST(boot_2cpus_512m)
{
	struct guest_state st;
	const char *v;

	guest_start(&g, "--cpus", "boot=2", "--memory", "size=512M", NULL);
	guest_ready(&g, T_BOOT, &st);
	expect_cpus(&st, "0-1", "0-1");
	guest_check(&g, st.memtotal_kb > 400 * 1024 &&
		    st.memtotal_kb <= 512 * 1024,
		    "memtotal_kb=%ld, expected 400-512 MiB", st.memtotal_kb);
	expect_value("echo n=$(grep -c ^processor /proc/cpuinfo)", "n=", "2");
	/* Input typed on the console reaches the shell: the UART's RX path. */
	expect_value("echo answer=$((6*7))", "answer=", "42");
	expect_long_input();
	v = guest_query(&g, "echo t=$(ls /sys/firmware/acpi/tables | "
			"tr '\\n' ,)", "t=");
	guest_check(&g, strstr(v, "APIC,") && strstr(v, "DSDT,") &&
		    strstr(v, "FACP,"), "ACPI tables \"%s\" lack one of "
		    "APIC, DSDT, FACP", v);
	expect_value("echo n=$(grep -c EVMMDSDT /sys/firmware/acpi/tables/DSDT)",
		     "n=", "1");
	expect_value("echo n=$(dmesg | grep -c 'ACPI: FACP .*EVMM')", "n=", "1");
	/* Its timer is armed by WRMSR when KVM can: CPUID says so. */
	expect_value("echo n=$(grep -m1 -c ' tsc_deadline_timer' /proc/cpuinfo)",
		     "n=", kvm_tsc_deadline() ? "1" : "0");
	poweroff();
}
END_TEST

/* boot=3 of max=5, then a reboot and a panic keep the same evmm. */
START_TEST(boot_3of5_reboot_panic)
{
	struct guest_state st;
	pid_t pid;

	guest_start(&g, "--cpus", "boot=3,max=5", NULL);
	pid = g.pid;
	guest_ready(&g, T_BOOT, &st);
	expect_cpus(&st, "0-2", "0-2");
	/* The MADT's Online-Capable entries make 3 and 4 possible. */
	expect_value("echo p=$(cat /sys/devices/system/cpu/possible)", "p=",
		     "0-4");

	guest_send(&g, "reboot");
	guest_expect(&g, "EVMM-INIT: reboot", T_CMD);
	guest_ready(&g, T_BOOT, &st);
	guest_check(&g, g.pid == pid && !kill(pid, 0),
		    "evmm %d is gone after the reboot", pid);
	expect_cpus(&st, "0-2", "0-2");

	/* panic=-1: the kernel resets the machine at once. */
	guest_send(&g, "echo c > /proc/sysrq-trigger");
	guest_expect(&g, "Kernel panic", T_CMD);
	guest_ready(&g, T_BOOT, &st);
	guest_check(&g, g.pid == pid, "evmm %d is gone after the panic", pid);
	expect_cpus(&st, "0-2", "0-2");
	poweroff();
}
END_TEST

/* RAM on both sides of the 32-bit MMIO hole; SIGTERM stops evmm. */
START_TEST(boot_4g_sigterm)
{
	struct guest_state st;

	guest_start(&g, "--memory", "size=4G", NULL);
	guest_ready(&g, T_BOOT, &st);
	expect_cpus(&st, "0", "0");
	guest_check(&g, st.memtotal_kb > 3584 * 1024 &&
		    st.memtotal_kb <= 4096 * 1024,
		    "memtotal_kb=%ld, expected 3.5-4 GiB", st.memtotal_kb);
	expect_value("echo n=$(grep -c '^100000000-.* : System RAM' "
		     "/proc/iomem)", "n=", "1");
	guest_signal(&g, SIGTERM);
	expect_exit_0("SIGTERM");
}
END_TEST

/* Seccomp stays on in every other test; off must boot as well. */
START_TEST(boot_seccomp_off)
{
	guest_start(&g, "--seccomp", "false", NULL);
	guest_ready(&g, T_BOOT, NULL);
	expect_value("echo answer=$((6*7))", "answer=", "42");
	poweroff();
}
END_TEST

/*
 * PCI on (every other test boots with pci=off, see GUEST_CMDLINE): the
 * guest uses the MCFG's ECAM and finds the host bridge, and nothing else.
 */
START_TEST(boot_pci)
{
	guest_start(&g, "--cmdline", "console=ttyS0 quiet panic=-1", NULL);
	guest_ready(&g, T_BOOT, NULL);
	expect_value("echo id=$(cat /sys/bus/pci/devices/0000:00:00.0/vendor)"
		     "$(cat /sys/bus/pci/devices/0000:00:00.0/device)", "id=",
		     "0x80860x0d57");
	expect_value("echo n=$(ls /sys/bus/pci/devices | wc -l)", "n=", "1");
	expect_value("echo ecam=$(dmesg | grep -qiE "
		     "'(mmconfig|ecam).*0xe0000000' && echo yes)", "ecam=",
		     "yes");
	expect_value("echo bad=$(dmesg | grep -ciE 'not reserved|"
		     "no config space access')", "bad=", "0");
	poweroff();
}
END_TEST

static void add(Suite *s, const char *name, const TTest *test, double secs)
{
	guest_add_test(s, name, test, secs, NULL, teardown);
}

Suite *e2e_boot_suite(void)
{
	Suite *s = suite_create("e2e_boot");

	check_set_max_msg_size(GUEST_MSG_MAX);
	/* Sums of the harness' own timeouts plus a margin: it fails first. */
	add(s, "2cpus_512m", boot_2cpus_512m, 2 * T_BOOT + 8 * T_CMD + T_EXIT);
	add(s, "3of5_reboot_panic", boot_3of5_reboot_panic,
	    4 * T_BOOT + 6 * T_CMD + T_EXIT);
	add(s, "4g_sigterm", boot_4g_sigterm, 2 * T_BOOT + 2 * T_CMD + T_EXIT);
	add(s, "seccomp_off", boot_seccomp_off, 2 * T_BOOT + 2 * T_CMD + T_EXIT);
	add(s, "pci", boot_pci, 2 * T_BOOT + 5 * T_CMD + T_EXIT);
	return s;
}
