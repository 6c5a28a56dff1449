#include <asm/bootparam.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/loader.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define E820_RAM	1
#define E820_RESERVED	2
#define PAGE_P		0x1ULL
#define PAGE_RW		0x2ULL
#define PAGE_PS		0x80ULL
#define CR0_PE		0x1ULL
#define CR0_ET		0x10ULL
#define CR0_PG		0x80000000ULL
#define CR4_PAE		0x20ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL
#define SEL_CODE	0x10	/* __BOOT_CS */
#define SEL_DATA	0x18	/* __BOOT_DS */
#define SEL_TSS		0x20

static void e820_add(struct boot_params *zp, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	struct boot_e820_entry *e = &zp->e820_table[zp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

static void boot_e820(const struct vm *vm, struct boot_params *zp)
{
	/* Low RAM holds the AP trampoline; the ACPI tables stay reserved. */
	e820_add(zp, 0, LAYOUT_EBDA, E820_RAM);
	e820_add(zp, LAYOUT_EBDA, 0xA0000 - LAYOUT_EBDA, E820_RESERVED);
	e820_add(zp, LAYOUT_ACPI, LAYOUT_KERNEL - LAYOUT_ACPI, E820_RESERVED);
	e820_add(zp, LAYOUT_KERNEL, vm->regions[0].size - LAYOUT_KERNEL,
		 E820_RAM);
	/* Linux uses the MCFG's ECAM only where e820 reserves it. */
	e820_add(zp, LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE, E820_RESERVED);
	if (vm->nregions > 1)
		e820_add(zp, vm->regions[1].gpa, vm->regions[1].size, E820_RAM);
}

/* Identity map of the first 4 GiB with 2 MiB pages. */
static void boot_page_tables(struct vm *vm)
{
	uint64_t *pml4 = vm_gpa_ptr(vm, LAYOUT_PML4, 4096);
	uint64_t *pdpt = vm_gpa_ptr(vm, LAYOUT_PDPT, 4096);
	uint64_t *pd = vm_gpa_ptr(vm, LAYOUT_PD, 4 * 4096);
	unsigned int i;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PAGE_P | PAGE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | PAGE_P | PAGE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PAGE_P | PAGE_RW | PAGE_PS;
}

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xFF000000) << 32) |
	       ((uint64_t)(flags & 0xF0FF) << 40) |
	       ((uint64_t)(limit & 0xF0000) << 32) |
	       ((uint64_t)(base & 0xFFFFFF) << 16) | (limit & 0xFFFF);
}

static void boot_gdt(struct vm *vm)
{
	uint64_t *gdt = vm_gpa_ptr(vm, LAYOUT_GDT, 5 * 8);

	gdt[0] = gdt[1] = 0;
	gdt[SEL_CODE / 8] = gdt_entry(0xA09B, 0, 0xFFFFF);	/* 64-bit code */
	gdt[SEL_DATA / 8] = gdt_entry(0xC093, 0, 0xFFFFF);	/* data */
	gdt[SEL_TSS / 8] = gdt_entry(0x008B, 0, 0x67);		/* busy TSS */
}

/*
 * The x86 reset vector (physical 0xFFFF0). With no firmware of ours there,
 * a guest that "resets" by jumping to it (Linux 6.1 on HW-reduced ACPI
 * without EFI falls back to exactly that) would run zeros forever. The stub
 * writes the ACPI reset register instead, so evmm reboots the VM.
 */
static void boot_reset_stub(struct vm *vm)
{
	const uint8_t stub[] = {
		0xBA, (PORT_PM_BASE + PM_RESET) & 0xFF, (PORT_PM_BASE + PM_RESET) >> 8,
					/* mov dx, reset register */
		0xB0, PM_RESET_VALUE,	/* mov al, reset value */
		0xEE,			/* out dx, al */
		0xF4,			/* hlt */
		0xEB, 0xFD,		/* jmp back to hlt */
	};

	memcpy(vm_gpa_ptr(vm, LAYOUT_RESET_VECTOR, sizeof(stub)), stub,
	       sizeof(stub));
}

int boot_setup_memory(struct vm *vm, const struct kernel_image *k,
		      const char *cmdline, uint64_t rsdp, char *err,
		      size_t errlen)
{
	struct boot_params *zp = vm_gpa_ptr(vm, LAYOUT_ZERO_PAGE, sizeof(*zp));
	size_t len = strlen(cmdline) + 1;
	int ret;

	/* 64-bit: a header's 0xFFFFFFFF + 1 must not wrap to 0. */
	if (len > LAYOUT_CMDLINE_MAX ||
	    len > (uint64_t)k->hdr.cmdline_size + 1) {
		snprintf(err, errlen, "--cmdline: longer than the kernel's "
			 "limit of %u bytes", k->hdr.cmdline_size);
		return -E2BIG;
	}
	memset(zp, 0, sizeof(*zp));
	ret = loader_load(vm, k, zp, err, errlen);
	if (ret)
		return ret;
	zp->hdr.type_of_loader = 0xFF;
	zp->hdr.cmd_line_ptr = LAYOUT_CMDLINE;
	memcpy(vm_gpa_ptr(vm, LAYOUT_CMDLINE, len), cmdline, len);
	zp->acpi_rsdp_addr = rsdp;
	boot_e820(vm, zp);
	boot_page_tables(vm);
	boot_gdt(vm);
	boot_reset_stub(vm);
	return 0;
}

static void boot_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			 bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xFFFFFFFF, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1,
		.l = code ? 1 : 0, .g = 1,
	};
}

static int boot_sregs(struct vcpu *bsp)
{
	struct kvm_sregs s;

	if (ioctl(bsp->fd, KVM_GET_SREGS, &s))
		return -errno;
	boot_segment(&s.cs, SEL_CODE, 0xB, true);
	boot_segment(&s.ds, SEL_DATA, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .selector = SEL_TSS, .limit = 0x67,
				     .type = 0xB, .present = 1 };
	s.gdt.base = LAYOUT_GDT;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = LAYOUT_IDT;
	s.idt.limit = 0;
	s.cr0 = CR0_PE | CR0_ET | CR0_PG;
	s.cr3 = LAYOUT_PML4;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	return ioctl(bsp->fd, KVM_SET_SREGS, &s) ? -errno : 0;
}

int boot_setup_bsp(struct vcpu *bsp)
{
	struct kvm_regs r = {
		.rip = LAYOUT_KERNEL + 0x200,	/* the 64-bit entry point */
		.rsi = LAYOUT_ZERO_PAGE,
		.rsp = LAYOUT_BOOT_STACK,
		.rbp = LAYOUT_BOOT_STACK,
		.rflags = 0x2,
	};
	struct kvm_fpu fpu = { .fcw = 0x37F, .mxcsr = 0x1F80 };
	int ret = boot_sregs(bsp);

	if (ret)
		return ret;
	if (ioctl(bsp->fd, KVM_SET_REGS, &r) || ioctl(bsp->fd, KVM_SET_FPU, &fpu))
		return -errno;
	return 0;
}
