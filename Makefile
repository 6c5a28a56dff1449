# evmm: one non-recursive Makefile. `make help` lists the targets.

CC	?= gcc
O	:= build
PKGS	:= libseccomp libmicrohttpd jansson
CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	   -fno-strict-aliasing $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	:= -lpthread $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
ASAN	:= -fsanitize=address,undefined -fno-omit-frame-pointer

LIB_SRCS := $(wildcard vmm/*.c acpi/*.c devices/*.c api/*.c)
LIB_SRCS := $(filter-out vmm/main.c,$(LIB_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
ASAN_OBJS := $(LIB_SRCS:%.c=$(O)/asan/%.o)
TIERS	:= unit kvm e2e
PAYLOADS := $(patsubst firmware/payloads/%.S,$(O)/firmware/%.bin,$(wildcard firmware/payloads/*.S))

.PHONY: all deps guest firmware tests check check-unit check-asan check-kvm \
	check-e2e check-fuzz check-seccomp fuzz soak demo bench clean help
all: $(O)/evmm $(O)/evmmctl

help:
	@echo "make            build $(O)/evmm"
	@echo "make deps       install the Debian packages the build, tests and demo need"
	@echo "make demo       boot a Debian guest on evmm (installs what is missing)"
	@echo "make check      all tests: unit (also under ASan/UBSan), fuzz corpora, kvm, e2e, seccomp audit"
	@echo "make fuzz       each libFuzzer harness for FUZZ_SECONDS (default 60)"
	@echo "make bench      evmm against QEMU, side by side"
	@echo "make soak       500 resize cycles on evmm under ASan/UBSan (EVMM_SOAK_CYCLES)"

deps:
	tools/deps

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN) -MMD -MP -c -o $@ $<

$(O)/libevmm.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(O)/libevmm-asan.a: $(ASAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(O)/evmm: $(O)/obj/vmm/main.o $(O)/libevmm.a
	$(CC) -o $@ $^ $(LDLIBS)

# evmm under ASan and UBSan, for the soak (tests/e2e/test_soak.c).
$(O)/evmm-asan: $(O)/asan/vmm/main.o $(O)/libevmm-asan.a
	$(CC) $(ASAN) -o $@ $^ $(LDLIBS)

# The API client: libcurl speaks HTTP over the Unix socket.
$(O)/evmmctl: tools/evmmctl.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags libcurl jansson) -o $@ $< \
		$(shell pkg-config --libs libcurl jansson)

# --- guest side -------------------------------------------------------------

# The test initramfs' init: static, so the guest needs no libc.
$(O)/firmware/init: firmware/init/init.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

# Tiny KVM-tier payloads: flat binaries, loaded at the address they name.
$(O)/firmware/%.bin: firmware/payloads/%.S firmware/payloads/payload.h
	@mkdir -p $(@D)
	$(CC) -c -nostdlib -Ifirmware/payloads -o $(O)/firmware/$*.o $<
	objcopy -O binary -j .text $(O)/firmware/$*.o $@

firmware: $(O)/firmware/init $(PAYLOADS)

$(O)/guest/vmlinuz:
	tools/guest-kernel $(O)/guest

# With the guest kernel's modules (power button, virtio, ext4): init loads them.
GUEST_TREE := $(O)/firmware/init tools/mkguesttree $(O)/guest/vmlinuz
$(O)/guest/initramfs.cpio.gz: $(GUEST_TREE) tools/mkinitramfs
	GUEST_KERNEL_DIR=$(O)/guest tools/mkinitramfs $(O)/firmware/init $@

# The same tree as an ext4 disk (64 MiB, ~1 s): root=/dev/vda boots its init.
$(O)/guest/rootfs.img: $(GUEST_TREE) tools/mkrootfs
	GUEST_KERNEL_DIR=$(O)/guest tools/mkrootfs $(O)/firmware/init $@

guest: $(O)/guest/vmlinuz $(O)/guest/initramfs.cpio.gz $(O)/guest/rootfs.img

# make bench's guest side of the disk and net parts: static, as init is.
$(O)/firmware/diskbench: firmware/bench/diskbench.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

$(O)/firmware/netbench: firmware/bench/netbench.c firmware/bench/netbench_opts.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

# The test initramfs with the bench's guest tools in /bin, as a second cpio
# (tools/mkinitramfs' EXTRA), so that the other guests stay as they are.
BENCH_EXTRA := $(O)/guest/bench-extra
BENCH_GUEST := $(O)/firmware/diskbench $(O)/firmware/netbench
$(O)/guest/initramfs-bench.cpio.gz: $(GUEST_TREE) tools/mkinitramfs $(BENCH_GUEST)
	rm -rf $(BENCH_EXTRA)
	mkdir -p $(BENCH_EXTRA)/bin
	cp $(BENCH_GUEST) $(BENCH_EXTRA)/bin/
	touch -h -d @0 $(BENCH_EXTRA) $(BENCH_EXTRA)/bin $(BENCH_EXTRA)/bin/*
	GUEST_KERNEL_DIR=$(O)/guest tools/mkinitramfs $(O)/firmware/init $@ $(BENCH_EXTRA)

# --- tests --------------------------------------------------------------------

# Each tier is one Check runner; suites are found by their "Suite *x_suite(void)".
$(O)/tests/%-suites.h: $(wildcard tests/*/*.c)
	@mkdir -p $(@D)
	@grep -ho '^Suite \*[a-z0-9_]*_suite(void)' tests/$*/*.c 2>/dev/null | \
		sed 's/^Suite \*\(.*\)(void)/SUITE(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp


# The unit tier also tests the bench's report generator and net peer.
UNIT_SRCS := $(wildcard tests/unit/*.c tests/unit/*.h tests/*.c tests/*.h) \
	     tools/benchreport.c tools/benchreport.h tools/netpeer.c tools/netpeer.h \
	     firmware/bench/netbench_opts.h

$(O)/tests/unit-tests: $(UNIT_SRCS) $(O)/tests/unit-suites.h $(O)/libevmm.a
	$(CC) $(CFLAGS) -DSUITES='"$(O)/tests/unit-suites.h"' -DTIER='"unit"' \
		-o $@ $(filter %.c,$^) $(O)/libevmm.a $(CHECK_LIBS) $(LDLIBS) -lm

$(O)/tests/unit-tests-asan: $(UNIT_SRCS) $(O)/tests/unit-suites.h $(O)/libevmm-asan.a
	$(CC) $(CFLAGS) $(ASAN) -DSUITES='"$(O)/tests/unit-suites.h"' -DTIER='"unit-asan"' \
		-o $@ $(filter %.c,$^) $(O)/libevmm-asan.a $(CHECK_LIBS) $(LDLIBS) -lm

$(O)/tests/kvm-tests: $(wildcard tests/kvm/*.c tests/kvm/*.h firmware/payloads/*.h tests/*.c tests/*.h) $(O)/tests/kvm-suites.h $(O)/libevmm.a
	$(CC) $(CFLAGS) -DSUITES='"$(O)/tests/kvm-suites.h"' -DTIER='"kvm"' \
		-o $@ $(filter %.c,$^) $(O)/libevmm.a $(CHECK_LIBS) $(LDLIBS)

$(O)/tests/e2e-tests: $(wildcard tests/e2e/*.c tests/e2e/*.h tests/*.c tests/*.h tests/shim/*.h) $(O)/tests/e2e-suites.h $(O)/libevmm.a
	$(CC) $(CFLAGS) -DSUITES='"$(O)/tests/e2e-suites.h"' -DTIER='"e2e"' \
		-o $@ $(filter %.c,$^) $(O)/libevmm.a $(CHECK_LIBS) $(LDLIBS) -lutil

# The e2e tier's fault injection: an LD_PRELOAD shim evmm runs under.
$(O)/tests/libevmm-fault.so: tests/shim/fault.c tests/shim/fault.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

# What the e2e tier runs besides a Linux guest: hostile fake bzImages.
E2E_DEPS := $(O)/tests/libevmm-fault.so $(O)/firmware/hostile64.bin \
	    $(O)/firmware/hostile_virtio64.bin

tests: $(TIERS:%=$(O)/tests/%-tests) $(O)/tests/unit-tests-asan $(E2E_DEPS)

check-unit: $(O)/tests/unit-tests
	$(O)/tests/unit-tests

check-asan: $(O)/tests/unit-tests-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(O)/tests/unit-tests-asan

# The KVM and e2e tiers run on /dev/kvm, or inside the nested host without it.
# The nested host boots the guest kernel as its L1, so it is needed here too.
check-kvm: $(O)/evmm $(O)/tests/kvm-tests $(PAYLOADS) $(O)/guest/vmlinuz
	tools/run-tier kvm

check-e2e: $(O)/evmm $(O)/evmm-asan $(O)/evmmctl $(O)/tests/e2e-tests guest $(E2E_DEPS)
	tools/run-tier e2e

# Both tiers again with every filter in log mode (EVMM_E2E_SECCOMP=log): the
# runner then fails on any call the kernel logged (tests/seccomp_audit.c).
# The e2e suites that walk evmm's paths (boot, reboot, console, both kinds of
# hotplug, a hostile guest, disks, the network); the fault, trap and soak
# suites are left out for make check's time.
AUDIT_SUITES ?= e2e_boot e2e_console e2e_hotplug e2e_memhp e2e_hostile e2e_disk e2e_net
check-seccomp: $(O)/evmm $(O)/evmm-asan $(O)/evmmctl $(O)/tests/kvm-tests \
	$(O)/tests/e2e-tests $(PAYLOADS) guest $(E2E_DEPS)
	EVMM_E2E_SECCOMP=log EVMM_NET_MIB=4 EVMM_TEST="kvm $(AUDIT_SUITES)" tools/run-tier kvm e2e

# Only the soak suite, with 500 cycles (make check runs it with 5); the
# nested host's time limit grows with the count.
SOAK_CYCLES := $(or $(EVMM_SOAK_CYCLES),500)
soak: $(O)/evmm $(O)/evmm-asan $(O)/evmmctl $(O)/tests/e2e-tests guest
	CK_RUN_SUITE=e2e_soak EVMM_SOAK_CYCLES=$(SOAK_CYCLES) \
		EVMM_NESTED_TIMEOUT=$$((900 + 15 * $(SOAK_CYCLES))) \
		tools/run-tier e2e

check: check-unit check-asan check-fuzz check-kvm check-e2e check-seccomp
	@echo "make check: all tiers passed"

# --- fuzzing (libFuzzer, clang) --------------------------------------------------

# The library again, instrumented for libFuzzer's coverage and ASan/UBSan;
# each tests/fuzz/fuzz_<name>.c becomes $(O)/fuzz/fuzz_<name>. Any UBSan
# report aborts, so libFuzzer records it as a crash.
FUZZ_CC	:= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer
# gnu11 allows a KVM flexible-array struct inside another (vcpu.c's MSRs);
# libseccomp's SCMP_A0_32() leaves a field to its default, which clang flags.
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	       -fno-strict-aliasing -Wno-gnu-variable-sized-type-not-at-end \
	       -Wno-missing-field-initializers \
	       $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_OBJS := $(LIB_SRCS:%.c=$(O)/fuzz/obj/%.o)
FUZZ_UTIL := $(wildcard tests/fuzz/fuzz_util.c)
FUZZ_UTIL_OBJS := $(FUZZ_UTIL:%.c=$(O)/fuzz/obj/%.o)
FUZZERS	:= $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,\
	   $(filter-out tests/fuzz/fuzz_util.c,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 10

$(O)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
		-MMD -MP -c -o $@ $<

$(O)/libevmm-fuzz.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) \
		$(FUZZ_UTIL_OBJS) $(O)/libevmm-fuzz.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ \
		$< $(FUZZ_UTIL_OBJS) $(O)/libevmm-fuzz.a $(LDLIBS)

fuzz: $(FUZZERS)
	tools/fuzz run $(FUZZ_SECONDS) $(FUZZERS)

# Every committed input (seeds and past crashes) replayed, then a short run.
check-fuzz: $(FUZZERS)
	tools/fuzz check $(FUZZ_CHECK_SECONDS) $(FUZZERS)

demo: deps
	$(MAKE) $(O)/evmm $(O)/evmmctl guest
	tools/demo

$(O)/tools/bootbench: tools/bootbench.c tools/benchlib.c tools/benchlib.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -I. -o $@ $(filter %.c,$^)

$(O)/tools/hotbench: tools/hotbench.c tools/benchlib.c tools/benchlib.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -I. -o $@ $(filter %.c,$^)

$(O)/tools/pingbench: tools/pingbench.c tools/benchlib.c tools/benchlib.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o $@ $(filter %.c,$^)

# A well-behaved client's ping among hostile ones (api/conn.c's limits).
$(O)/tools/apistress: tools/apistress.c $(O)/libevmm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(O)/libevmm.a $(LDLIBS)

# The net part's host side: listens on the tap's host address (tools/netpeer.h).
$(O)/tools/netpeer: tools/netpeer.c tools/netpeer_main.c tools/netpeer.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o $@ $(filter %.c,$^) -lm

# The report: raw runs → bench.json, bench.md, ratios.png (gnuplot).
$(O)/tools/benchreport: tools/benchreport.c tools/benchreport_main.c tools/benchreport.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(shell pkg-config --libs jansson) -lm

bench: deps $(O)/evmm $(O)/evmmctl $(O)/tools/bootbench $(O)/tools/hotbench \
	$(O)/tools/pingbench $(O)/tools/netpeer $(O)/tools/benchreport guest \
	$(O)/guest/initramfs-bench.cpio.gz
	tools/bench

clean:
	rm -rf $(O)/obj $(O)/asan $(O)/tests $(O)/firmware $(O)/tools $(O)/evmm $(O)/evmm-asan \
		$(O)/evmmctl $(O)/*.a $(O)/fuzz

-include $(shell find $(O)/obj $(O)/asan $(O)/fuzz/obj -name '*.d' 2>/dev/null)
