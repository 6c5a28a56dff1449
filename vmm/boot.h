/*
 * Boot state for a 64-bit Linux entry: zero page (e820, command line,
 * RSDP address), identity-mapped page tables, GDT, and the BSP's registers.
 * Runs at every (re)boot, after the ACPI tables are in place.
 */
#ifndef EVMM_BOOT_H
#define EVMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct kernel_image;

/* Writes everything the kernel finds in memory; err explains a failure. */
int boot_setup_memory(struct vm *vm, const struct kernel_image *k,
		      const char *cmdline, uint64_t rsdp, char *err,
		      size_t errlen);
/* Long mode, RIP at the kernel's 64-bit entry, RSI = zero page. */
int boot_setup_bsp(struct vcpu *bsp);

#endif
