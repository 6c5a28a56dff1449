/*
 * A hostile guest for evmm's PCI bus and virtio-blk devices, booted as a
 * fake bzImage like hostile64.S (same header; evmm enters the 64-bit code
 * with the low 4 GiB identity-mapped). The test boots it with
 * --memory size=256M and one or two --disk, each holding
 * "HOSTVIRT-MAGIC-N" in sector 0 for the N-th disk.
 *
 * It enumerates bus 0 through 0xCF8/0xCFC and ECAM (they must agree),
 * then for PASSES passes:
 *  config	random values of every size (1, 2, 4; 8 through ECAM) to every
 *		configuration space offset of the host bridge, each disk and
 *		an empty slot, then extended space, functions 1-7, bus 1;
 *  bars	BAR0 sized, moved onto RAM, ECAM, the LAPIC, above 4 GiB, to
 *		the top of the address space, onto the other disks' BAR0,
 *		decoding switched off and on at each place; then back;
 *  registers	random and out-of-order writes to the common configuration
 *		(register scripts below check what must be refused), every
 *		queue index of the notify region, ISR, device configuration,
 *		MSI-X table and PBA; the same through the PCI-cfg window (a
 *		reset through it mid-flight, settings it must ignore); then
 *		vectors with garbage addresses and data, used for requests;
 *  queues	a queue set up properly, then hostile chains (outside RAM,
 *		across its end, huge, in loops, longer than the queue, bad
 *		indirect tables, write-only headers, ...) each checked against
 *		the used ring, rings broken on purpose, resets mid-flight,
 *		BAR0 moved under a live queue, random chains; then every
 *		disk's queue live while their BAR0s go through the garbage
 *		places together.
 * A valid read of sector 0 follows every hostile step: the device must
 * still serve it, with the disk's magic. Last, per disk: the magic, and a
 * write of sector 1 (IOERR on a readonly disk, whose magic must stay).
 * Then it leaves a mess for the test's reboot to clean up: big reads in
 * flight (some over what evmm serves), garbage vectors, BAR0 at the top
 * of the address space.
 *
 * MSI messages are made garbage only with fixed delivery and a vector of
 * 0x80 or more: an NMI, SMI or INIT would be the guest resetting itself.
 * Interrupts stay on outside the handlers (pending ones with IF=0 wedge
 * the nested host, see hostile64.S); a LAPIC timer ticks every 10 ms.
 *
 * Console: "HOSTVIRT: start", a line per phase, "HOSTVIRT: FAIL ..." for
 * each failed check, "HOSTVIRT: check slot S ro=R PASS|FAIL" per disk,
 * "HOSTVIRT: done checks=N failures=F", then "HOSTVIRT: tick N" once a
 * second. Only PC-relative references: the image is not linked.
 */
#include "payload.h"

#define PASSES		2
#define RAM_END		0x10000000	/* the test's size=256M */
#define MAX_DISKS	4
#define QSIZE		16		/* the queues set up here */
#define QMAX		128		/* evmm's default queue_size */
#define RANDOM_ROUNDS	64
#define TICK_NS		10000000	/* LAPIC timer: 1 GHz in KVM */
#define WAIT_TICKS	300		/* 3 s for a request */
#define MAX_REPORTS	40		/* FAIL lines printed at most */

/* Guest RAM the payload uses, above its image (1 MiB) and below RAM_END. */
#define SCRATCH		0x01000000
#define Q_DESC		(SCRATCH + 0x0000)
#define Q_AVAIL		(SCRATCH + 0x1000)
#define Q_USED		(SCRATCH + 0x2000)
#define IND		(SCRATCH + 0x4000)	/* indirect tables */
#define HDR		(SCRATCH + 0x10000)	/* request headers */
#define STATUS		(SCRATCH + 0x11000)
#define DATA		(SCRATCH + 0x12000)	/* 56 KiB */
#define LIVE_RINGS	(SCRATCH + 0x20000)	/* + disk << 14 */
#define RAND		0x02000000		/* 1 MiB of noise */
#define RAND_LEN	0x100000
#define BIG_BUF		0x08000000	/* 64 MiB for big reads */
#define HUGE_SEG	0x04000000	/* 16: the test's first disk */
#define HUGE_SEGS	16
#define MAX_SEG		0x00400000	/* 15: under evmm's 63.5 MiB */
#define MAX_SEGS	15
#define BIG_TABLE	0x200	/* bytes between their indirect tables */

/* The headers at HDR, 16 bytes each (the headers table below). */
#define H_READ0		(HDR + 0x00)
#define H_READ1		(HDR + 0x10)
#define H_WRITE0	(HDR + 0x20)
#define H_WRITE1	(HDR + 0x30)
#define H_READ_PAST	(HDR + 0x40)
#define H_WRITE_PAST	(HDR + 0x50)
#define H_BADTYPE	(HDR + 0x60)
#define H_GETID		(HDR + 0x70)
#define H_FLUSH		(HDR + 0x80)
#define NHEADERS	9

/* PCI */
#define VIRTIO_BLK_ID	0x10421AF4	/* device, vendor */
#define PCI_CMD		0x04
#define CMD_ON		0x0006		/* memory, bus master */
#define PCI_BAR0	0x10
#define PCI_BAR1	0x14
#define PCI_CAP_PTR	0x34
#define BAR_BASE	0xC0000000	/* + slot << 16: BAR0's sane place */
#define BAR_ALT		0xC8000000	/* + slot << 16: another */
#define BAR0_SIZEMASK	0xFFFF8004	/* 32 KiB, 64-bit */
#define MSIX_CAP_ID	0x11
#define MSIX_ENABLE	0x8000
#define MSIX_FMASK	0x4000
#define CAP_VNDR	0x09
#define CFG_PCI		5		/* the PCI-cfg capability */
#define WIN_BAR		4		/* BAR, offset, length, data */
#define WIN_OFF		8
#define WIN_LEN		12
#define WIN_DATA	16
#define BAR_TOP		0xFFFFFFFFFFFF8000	/* BAR0 ends at 2^64 */

/* BAR0 of virtio-pci (devices/virtio_pci.h) */
#define ISR		0x1000
#define DEVCFG		0x2000
#define NOTIFY		0x3000
#define MSIX_TABLE	0x4000
#define MSIX_PBA	0x5000
#define NVECTORS	2		/* one queue and configuration */

/* The common configuration */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0C
#define C_MSIX		0x10
#define C_NUMQ		0x12
#define C_STATUS	0x14
#define C_GEN		0x15
#define C_QSELECT	0x16
#define C_QSIZE		0x18
#define C_QMSIX		0x1A
#define C_QENABLE	0x1C
#define C_QDESC		0x20
#define C_QAVAIL	0x28
#define C_QUSED		0x30
#define C_END		0x48		/* past the last field */

#define S_ACK		0x01
#define S_DRIVER	0x02
#define S_DRIVER_OK	0x04
#define S_FEATURES_OK	0x08
#define S_NEEDS_RESET	0x40
#define S_FAILED	0x80
#define S_SETUP		(S_ACK | S_DRIVER | S_FEATURES_OK)

#define F_NEXT		1
#define F_WRITE		2
#define F_INDIRECT	4

#define FEAT_INDIRECT	(1 << 28)
#define FEAT_EVENT_IDX	(1 << 29)
#define FEAT_VERSION_1	1		/* bit 32, in the upper word */
#define BLK_F_RO	(1 << 5)
#define BLK_IOERR	1
#define BLK_UNSUPP	2
#define UNTOUCHED	0xEE		/* a status before its request */
#define ANY		0xFF		/* a case not checking it */

/* LAPIC */
#define LAPIC_EOI	0xB0
#define LAPIC_SVR	0xF0
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT0	0x350
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_DCR	0x3E0
#define VEC_TIMER	0x20
#define VEC_QUEUE	0x40
#define VEC_CONFIG	0x41
#define MSI_ADDR	0xFEE00000	/* APIC ID 0, physical */
#define BOOT_CS		0x10		/* vmm/boot.c's CS */

/* A descriptor: in the chains below and in the rings. */
.macro D addr, len, flags, next
	.quad \addr
	.long \len
	.word \flags, \next
.endm

	.text
	.globl payload_start
payload_start:

/* --- the real-mode part: only the setup header at 0x1F1 ----------------- */
	.org 0x1F1
	.byte 1				/* setup_sects */
	.word 0				/* root_flags */
	.long 0				/* syssize */
	.word 0, 0, 0			/* ram_size, vid_mode, root_dev */
	.word 0xAA55			/* boot_flag */
	.byte 0xEB, hdr_end - payload_start - 0x202
	.ascii "HdrS"
	.word 0x020F			/* boot protocol 2.15 */
	.long 0				/* realmode_swtch */
	.word 0, 0			/* start_sys_seg, kernel_version */
	.byte 0				/* type_of_loader */
	.byte 0x01			/* loadflags: LOADED_HIGH */
	.word 0				/* setup_move_size */
	.long 0x100000			/* code32_start */
	.long 0, 0, 0			/* ramdisk_image, _size, bootsect_kludge */
	.word 0				/* heap_end_ptr */
	.byte 0, 0			/* ext_loader_ver, _type */
	.long 0				/* cmd_line_ptr */
	.long 0x7FFFFFFF		/* initrd_addr_max */
	.long 0x200000			/* kernel_alignment */
	.byte 0, 0			/* relocatable_kernel, min_alignment */
	.word 0x0001			/* xloadflags: XLF_KERNEL_64 */
	.long 2047			/* cmdline_size */
	.long 0				/* hardware_subarch */
	.quad 0				/* hardware_subarch_data */
	.long 0, 0			/* payload_offset, _length */
	.quad 0, 0			/* setup_data, pref_address */
	.long 0x100000			/* init_size: image, bss and stack */
	.long 0, 0			/* handover_offset, kernel_info_offset */
hdr_end:
	.org 0x400

/*
 * Registers: %r15 the xorshift64 state; %r12 the current disk's BAR0,
 * %r13 its slot, %r14 its index. Functions keep %rbx, %rbp and %r12-%r15.
 */
	.org 0x400 + 0x200
	.code64
entry:
	cli
	cld
	lea stack_top(%rip), %rsp
	mov %rsi, %rbx			/* boot_params */
	movabs $0x2545F4914F6CDD1D, %r15
	call uart_reset
	lea msg_start(%rip), %rsi
	call puts
	mov %rbx, %rdi
	call check_ram
	call setup_idt
	call setup_timer
	sti
	call fill_rand
	call copy_headers
	call enumerate
	cmpl $0, ndisks(%rip)
	je done
1:	call run_pass
	incl pass(%rip)
	cmpl $PASSES, pass(%rip)
	jb 1b
	lea final_check(%rip), %rsi
	call each_disk
	lea leave_mess(%rip), %rsi
	call each_disk
done:
	lea msg_done(%rip), %rsi
	call puts
	mov checks(%rip), %eax
	call putnum
	lea msg_failures(%rip), %rsi
	call puts
	mov failures(%rip), %eax
	call putdec
	jmp tick_loop

run_pass:
	mov $FEAT_INDIRECT, %eax
	testl $1, pass(%rip)
	jz 1f
	or $FEAT_EVENT_IDX, %eax	/* odd passes: with EVENT_IDX */
1:	mov %eax, feat0(%rip)
	lea msg_config(%rip), %rsi
	call phase
	xor %r13d, %r13d		/* the host bridge */
	call storm_cfg
	mov empty_slot(%rip), %r13d
	call storm_cfg
	lea storm_cfg(%rip), %rsi
	call each_disk
	lea restore_fn(%rip), %rsi
	call each_disk
	xor %edi, %edi
	mov $PCI_CMD, %esi
	mov $CMD_ON, %ecx
	call cfg_wr16
	lea msg_bars(%rip), %rsi
	call phase
	lea storm_bars(%rip), %rsi
	call each_disk
	call bars_overlap
	lea msg_registers(%rip), %rsi
	call phase
	lea storm_regs(%rip), %rsi
	call each_disk
	lea msg_queues(%rip), %rsi
	call phase
	lea storm_queues(%rip), %rsi
	call each_disk
	jmp live_bars

/* "HOSTVIRT: pass N <what at %rsi> at tick T". */
phase:
	push %rsi
	lea msg_pass(%rip), %rsi
	call puts
	mov pass(%rip), %eax
	call putnum
	pop %rsi
	call puts
	lea msg_at(%rip), %rsi
	call puts
	mov ticks(%rip), %rax
	jmp putdec

/* Calls %rsi with each disk selected (select_disk). */
each_disk:
	push %rbx
	push %rbp
	mov %rsi, %rbp
	xor %ebx, %ebx
1:	cmp ndisks(%rip), %ebx
	jae 2f
	mov %ebx, %eax
	call select_disk
	call *%rbp
	inc %ebx
	jmp 1b
2:	pop %rbp
	pop %rbx
	ret

/* Disk %eax: %r14, its slot in %r13, BAR0's sane place in %r12. */
select_disk:
	mov %eax, %r14d
	lea disk_slots(%rip), %rdx
	mov (%rdx,%rax,4), %r13d
	mov %r13d, %r12d
	shl $16, %r12d
	add $BAR_BASE, %r12d
	mov %r13d, %edi
	mov $MSIX_CAP_ID, %esi
	call find_cap
	mov %eax, msix_cap(%rip)
	mov $CFG_PCI, %esi
	call find_vcap
	mov %eax, win_cap(%rip)
	ret

/* e820 (boot_params at %rdi): usable RAM must end at RAM_END. */
check_ram:
	movzbl 0x1E8(%rdi), %ecx	/* e820_entries */
	lea 0x2D0(%rdi), %rsi		/* e820_table: addr, size, type */
	xor %eax, %eax
1:	test %ecx, %ecx
	jz 3f
	cmpl $1, 16(%rsi)
	jne 2f
	mov (%rsi), %rdx
	add 8(%rsi), %rdx
	cmp %rax, %rdx
	cmova %rdx, %rax
2:	add $20, %rsi
	dec %ecx
	jmp 1b
3:	cmp $RAM_END, %rax
	je 4f
	lea msg_ram(%rip), %rsi
	mov $-1, %rdi
	call fail
4:	ret

fill_rand:
	mov $RAND, %edi
	mov $RAND_LEN / 8, %ecx
1:	call rnd
	stosq
	dec %ecx
	jnz 1b
	ret

copy_headers:
	lea headers(%rip), %rsi
	mov $HDR, %edi
	mov $NHEADERS * 16, %ecx
	rep movsb
	ret

/* --- PCI configuration space -------------------------------------------- */

/* Selects slot %edi, register %esi in 0xCF8; clobbers %eax, %ecx, %edx. */
cf8_select:
	mov %edi, %eax
	shl $11, %eax
	or $0x80000000, %eax
	mov %esi, %ecx
	and $0xFC, %ecx
	or %ecx, %eax
	mov $PL_PCI_CF8, %edx
	out %eax, %dx
	ret

/* %rdx = the ECAM address of slot %edi, register %esi. */
ecam_addr:
	mov %edi, %edx
	shl $15, %edx
	add %esi, %edx
	add $PL_PCI_ECAM, %edx
	ret

cfg_rd8:
	call ecam_addr
	movzbl (%rdx), %eax
	ret

cfg_wr8:
	call ecam_addr
	mov %cl, (%rdx)
	ret

cfg_rd32:
	call ecam_addr
	mov (%rdx), %eax
	ret

/* Writes %ecx (or %cx) at slot %edi, register %esi. */
cfg_wr16:
	call ecam_addr
	mov %cx, (%rdx)
	ret

cfg_wr32:
	call ecam_addr
	mov %ecx, (%rdx)
	ret

/* %eax = the offset of slot %edi's capability %esi, or 0. */
find_cap:
	push %rbx
	push %rbp
	mov %esi, %ebp
	mov $PCI_CAP_PTR, %esi
	call cfg_rd8
	mov $48, %ebx			/* a list can loop: bounded */
1:	and $0xFC, %eax
	jz 2f
	mov %eax, %esi
	call cfg_rd8
	cmp %ebp, %eax
	mov %esi, %eax
	je 2f
	lea 1(%rsi), %esi
	call cfg_rd8
	dec %ebx
	jnz 1b
	xor %eax, %eax
2:	pop %rbp
	pop %rbx
	ret

/* %eax = the offset of slot %edi's virtio capability of type %esi, or 0. */
find_vcap:
	push %rbx
	push %rbp
	mov %esi, %ebp
	mov $PCI_CAP_PTR, %esi
	call cfg_rd8
	mov $48, %ebx
1:	and $0xFC, %eax
	jz 3f
	mov %eax, %esi
	call cfg_rd8
	cmp $CAP_VNDR, %eax
	jne 2f
	lea 3(%rsi), %esi
	call cfg_rd8
	sub $3, %esi
	cmp %ebp, %eax
	mov %esi, %eax
	je 3f
2:	lea 1(%rsi), %esi
	call cfg_rd8
	dec %ebx
	jnz 1b
	xor %eax, %eax
3:	pop %rbp
	pop %rbx
	ret

/*
 * Every slot's ID through the ports and through ECAM: the same answer.
 * Records the virtio-blk functions and the first empty slot.
 */
enumerate:
	push %rbx
	push %rbp
	xor %ebp, %ebp			/* slot */
	xor %ebx, %ebx			/* functions */
1:	mov %ebp, %edi
	xor %esi, %esi
	call cf8_select
	mov $PL_PCI_CFC, %edx
	in %dx, %eax
	mov %eax, %r8d
	call cfg_rd32
	cmp %eax, %r8d
	je 2f
	push %rax
	lea msg_enum(%rip), %rsi
	mov %rbp, %rdi
	call fail
	pop %rax
2:	cmp $0xFFFFFFFF, %eax
	jne 3f
	cmpl $0, empty_slot(%rip)
	jne 4f
	mov %ebp, empty_slot(%rip)
	jmp 4f
3:	inc %ebx
	cmp $VIRTIO_BLK_ID, %eax
	jne 4f
	mov ndisks(%rip), %ecx
	cmp $MAX_DISKS, %ecx
	jae 4f
	lea disk_slots(%rip), %rdx
	mov %ebp, (%rdx,%rcx,4)
	incl ndisks(%rip)
4:	inc %ebp
	cmp $32, %ebp
	jb 1b
	lea msg_bus(%rip), %rsi
	call puts
	mov %ebx, %eax
	call putnum
	lea msg_bus_disks(%rip), %rsi
	call puts
	mov ndisks(%rip), %eax
	call putdec
	pop %rbp
	pop %rbx
	ret

/*
 * Slot %r13: random values of 1, 2 and 4 bytes through the ports (4 at
 * lanes 1-3 run past 0xCFF) and of 1, 2, 4 and 8 through ECAM at every
 * offset, each read back; then 16 places in the extended space and
 * functions 1-7; then bus 1, function 3, the enable bit clear, and
 * 0xCF8 written narrow.
 */
storm_cfg:
	push %rbx
	xor %ebx, %ebx
1:	mov %r13d, %edi
	mov %ebx, %esi
	call cf8_select
	mov %ebx, %edx
	and $3, %edx
	add $PL_PCI_CFC, %edx
	call rnd
	out %al, %dx
	call rnd
	out %ax, %dx
	call rnd
	out %eax, %dx
	in %dx, %eax
	call ecam_addr
	call rnd_wide
	mov (%rdx), %eax
	inc %ebx
	cmp $256, %ebx
	jb 1b
	mov $16, %ebx
2:	call rnd
	mov %eax, %esi
	and $0x7FF8, %esi		/* this slot's 8 functions */
	mov %r13d, %edi
	call ecam_addr
	call rnd_wide
	dec %ebx
	jnz 2b
	pop %rbx
	mov $0x80010000, %esi		/* bus 1 */
	call cf8_storm_addr
	mov $0x80000300, %esi		/* function 3 */
	call cf8_storm_addr
	xor %esi, %esi			/* enable bit clear */
	call cf8_storm_addr
	mov $PL_PCI_CF8, %edx
	call rnd
	out %al, %dx
	inc %edx
	out %ax, %dx
	in %dx, %al
	ret

/* Random bytes, words, dwords and a qword at %rdx; keeps %rdx. */
rnd_wide:
	call rnd
	mov %al, (%rdx)
	call rnd
	mov %ax, (%rdx)
	call rnd
	mov %eax, (%rdx)
	call rnd
	mov %rax, (%rdx)
	ret

/* 0xCF8 = %esi | slot %r13 << 11 | a random register; data both ways. */
cf8_storm_addr:
	mov %r13d, %eax
	shl $11, %eax
	or %esi, %eax
	mov %eax, %esi
	call rnd
	and $0xFC, %eax
	or %esi, %eax
	mov $PL_PCI_CF8, %edx
	out %eax, %dx
	mov $PL_PCI_CFC, %edx
	call rnd
	out %eax, %dx
	in %dx, %eax
	ret

/*
 * A disk after the storm: decoding off while BAR0 goes back to its sane
 * place, MSI-X on but masked, decoding on, and the device reset.
 */
restore_fn:
	mov %r13d, %edi
	mov $PCI_CMD, %esi
	xor %ecx, %ecx
	call cfg_wr16
	mov %r12d, %ecx
	call set_bar0
	mov msix_cap(%rip), %esi
	add $2, %esi
	mov $MSIX_ENABLE | MSIX_FMASK, %ecx
	call cfg_wr16
	mov $PCI_CMD, %esi
	mov $CMD_ON, %ecx
	call cfg_wr16
	movb $0, C_STATUS(%r12)
	ret

/* BAR0 of slot %edi at %rcx: low dword, then high. */
set_bar0:
	push %rcx
	mov $PCI_BAR0, %esi
	call cfg_wr32
	pop %rcx
	shr $32, %rcx
	mov $PCI_BAR1, %esi
	jmp cfg_wr32

/* --- BARs --------------------------------------------------------------- */

/*
 * Sizing (decoding left on), then BAR0 at each of bar_places; at the ones
 * in the BAR window nobody else uses, a read of the common configuration,
 * a kick and an ISR read; decoding off and on at each. Then garbage
 * through the ports and an 8-byte ECAM write, and back.
 */
storm_bars:
	push %rbx
	mov %r13d, %edi
	mov $-1, %rcx
	call set_bar0
	mov $PCI_BAR0, %esi
	call cfg_rd32
	cmp $BAR0_SIZEMASK, %eax
	jne 1f
	mov $PCI_BAR1, %esi
	call cfg_rd32
	cmp $0xFFFFFFFF, %eax
	je 2f
1:	lea msg_sizing(%rip), %rsi
	mov %rax, %rdi
	call fail
2:	lea bar_places(%rip), %rbx
3:	mov %r13d, %edi
	mov (%rbx), %rcx
	call set_bar0
	cmpq $0, 8(%rbx)
	je 4f
	mov (%rbx), %rdx
	mov (%rdx), %eax
	movw $0, NOTIFY(%rdx)
	mov ISR(%rdx), %al
4:	mov %r13d, %edi
	mov $PCI_CMD, %esi
	xor %ecx, %ecx
	call cfg_wr16
	mov $CMD_ON, %ecx
	call cfg_wr16
	add $16, %rbx
	lea bar_places_end(%rip), %rax
	cmp %rax, %rbx
	jb 3b
	mov $PCI_BAR0, %esi
	call cf8_storm_reg
	mov $PCI_BAR1, %esi
	call cf8_storm_reg
	mov %r13d, %edi
	mov $PCI_BAR0, %esi
	call ecam_addr
	call rnd
	mov %rax, (%rdx)
	pop %rbx
	jmp restore_fn

/* A random dword to register %esi of slot %r13 through the ports. */
cf8_storm_reg:
	mov %r13d, %edi
	call cf8_select
	mov $PL_PCI_CFC, %edx
	call rnd
	out %eax, %dx
	ret

/* Every disk's BAR0 at one address, used there, then each back. */
bars_overlap:
	push %rbx
	xor %ebx, %ebx
1:	cmp ndisks(%rip), %ebx
	jae 2f
	lea disk_slots(%rip), %rdx
	mov (%rdx,%rbx,4), %edi
	mov $BAR_BASE, %ecx
	call set_bar0
	inc %ebx
	jmp 1b
2:	mov $BAR_BASE, %edx
	mov C_NUMQ(%rdx), %ax
	movw $0, NOTIFY(%rdx)
	movb $0, C_STATUS(%rdx)
	pop %rbx
	lea restore_fn(%rip), %rsi
	jmp each_disk

/* --- Registers ---------------------------------------------------------- */

storm_regs:
	push %rbx
	call zero_rings
	movb $0, C_STATUS(%r12)
	/*
	 * Every common configuration offset at every width. Bit 31 set in
	 * every value: no ring address can land in RAM (a queue enabled on
	 * garbage there would have the device write over this payload).
	 */
	xor %ebx, %ebx
1:	lea (%r12,%rbx), %rdx
	call rnd
	bts $31, %rax
	mov %al, (%rdx)
	call rnd
	bts $31, %rax
	mov %ax, (%rdx)
	call rnd
	bts $31, %rax
	mov %eax, (%rdx)
	call rnd
	bts $31, %rax
	mov %rax, (%rdx)
	mov (%rdx), %rax
	inc %ebx
	cmp $C_END, %ebx
	jb 1b
	/* A string of bytes: only the status takes one. */
	mov $RAND, %esi
	mov %r12, %rdi
	mov $C_END, %ecx
	rep movsb
	lea script_regs(%rip), %rsi
	call run_script
	call cfg_window
	/* Every queue index the notify region can name. */
	xor %ebx, %ebx
2:	call rnd
	mov %ax, NOTIFY(%r12,%rbx,4)
	inc %ebx
	cmp $0x400, %ebx
	jb 2b
	lea regions(%rip), %rbx
3:	movzwl (%rbx), %edi
	movzwl 2(%rbx), %ecx
	add %r12, %rdi
	call storm_range
	add $4, %rbx
	lea regions_end(%rip), %rax
	cmp %rax, %rbx
	jb 3b
	/* The masked table written with 8-byte strings. */
	lea MSIX_TABLE(%r12), %rdi
	mov $NVECTORS * 2 + 2, %ecx
	call rnd
	rep stosq
	pop %rbx
	jmp garbage_vectors

/* Every width written (random) and read at each byte of [%rdi, +%ecx). */
storm_range:
	mov %rdi, %rdx
	lea (%rdi,%rcx), %r8
1:	call rnd_wide
	mov (%rdx), %al
	mov (%rdx), %ax
	mov (%rdx), %eax
	mov (%rdx), %rax
	inc %rdx
	cmp %r8, %rdx
	jb 1b
	ret

/*
 * Garbage messages that are still fixed interrupts at vectors 0x80-0xFF,
 * every vector unmasked, MSI-X unmasked: what was pending fires there.
 * Then requests with those vectors, and the function mask back.
 */
garbage_vectors:
	push %rbx
	call garbage_table
	movb $0, sane_vectors(%rip)
	mov $MSIX_ENABLE, %ecx
	call msix_ctrl
	call setup_queue
	mov $4, %ebx
1:	call valid_read
	dec %ebx
	jnz 1b
	movb $1, sane_vectors(%rip)
	movb $0, C_STATUS(%r12)
	pop %rbx
	ret

/* Every vector of the table: garbage address, fixed, vector >= 0x80. */
garbage_table:
	xor %ecx, %ecx
1:	mov %rcx, %rdx
	shl $4, %rdx
	lea MSIX_TABLE(%r12,%rdx), %rdx
	call rnd
	and $~3, %eax
	mov %eax, (%rdx)
	call rnd
	mov %eax, 4(%rdx)
	call rnd
	and $~0x700, %eax		/* fixed delivery */
	or $0x80, %eax
	mov %eax, 8(%rdx)
	movl $0, 12(%rdx)
	inc %ecx
	cmp $NVECTORS, %ecx
	jb 1b
	ret

/*
 * The PCI-cfg capability's window onto BAR0 (through configuration
 * space, under evmm's PCI bus lock): a driver's setup through it, a kick,
 * a reset with requests in flight; then settings it must ignore, each
 * with a write that would reset the device if it went through.
 */
cfg_window:
	push %rbx
	call default_rings
	call zero_rings
	lea script_window(%rip), %rsi
	call run_script
	call sane_msix
	movw $0, avail_shadow(%rip)
	incl checks(%rip)
	mov $H_READ0, %esi
	mov $F_WRITE, %ecx
	call set_request
	xor %eax, %eax
	call post
	xor %edx, %edx
	mov $NOTIFY, %esi
	mov $2, %ecx
	call win_set
	xor %ecx, %ecx
	call win_wr			/* the kick */
	mov $513, %ecx
	xor %esi, %esi
	call request_wait
	call setup_queue
	xor %ebx, %ebx
1:	call midflight_request
	inc %ebx
	cmp $QSIZE, %ebx
	jb 1b
	call kick
	xor %edx, %edx
	mov $C_STATUS, %esi
	mov $1, %ecx
	call win_set
	xor %ecx, %ecx
	call win_wr			/* the reset, mid-flight */
	call setup_queue
	lea bad_windows(%rip), %rbx
2:	mov (%rbx), %edx
	mov 4(%rbx), %esi
	mov 8(%rbx), %ecx
	call win_set
	xor %ecx, %ecx
	call win_wr
	call win_rd
	testb $S_DRIVER_OK, C_STATUS(%r12)
	jnz 3f
	lea msg_window(%rip), %rsi
	mov %rbx, %rdi
	lea bad_windows(%rip), %rax
	sub %rax, %rdi
	call fail
	call setup_queue
3:	add $12, %rbx
	lea bad_windows_end(%rip), %rax
	cmp %rax, %rbx
	jb 2b
	call valid_read
	movb $0, C_STATUS(%r12)
	pop %rbx
	ret

/* The window: BAR %edx, offset %esi, length %ecx. */
win_set:
	push %rcx
	push %rsi
	mov %edx, %ecx
	mov %r13d, %edi
	mov win_cap(%rip), %esi
	add $WIN_BAR, %esi
	call cfg_wr8
	pop %rcx
	mov win_cap(%rip), %esi
	add $WIN_OFF, %esi
	call cfg_wr32
	pop %rcx
	mov win_cap(%rip), %esi
	add $WIN_LEN, %esi
	jmp cfg_wr32

/* %ecx through the window; win_rd: %eax through it. */
win_wr:
	mov %r13d, %edi
	mov win_cap(%rip), %esi
	add $WIN_DATA, %esi
	jmp cfg_wr32

win_rd:
	mov %r13d, %edi
	mov win_cap(%rip), %esi
	add $WIN_DATA, %esi
	jmp cfg_rd32

/*
 * A register script at %rsi against BAR0 (%r12): entries of op, width,
 * offset, mask, value. Op 1 writes the value; op 2 reads and fails unless
 * (read & mask) == value; 3 and 4 do the same through the PCI-cfg
 * window; 0 ends.
 */
run_script:
	push %rbx
	push %rbp
	mov %rsi, %rbx
	mov %rsi, %rbp
1:	movzbl (%rbx), %eax
	test %eax, %eax
	jz 9f
	cmp $3, %eax
	jb 10f
	call window_step
	cmpb $4, (%rbx)
	je 7f
	jmp 8f
10:	movzwl 2(%rbx), %edx
	add %r12, %rdx
	movzbl 1(%rbx), %ecx
	mov 8(%rbx), %rsi
	cmp $1, %eax
	jne 5f
	cmp $1, %ecx
	jne 2f
	mov %sil, (%rdx)
	jmp 8f
2:	cmp $2, %ecx
	jne 3f
	mov %si, (%rdx)
	jmp 8f
3:	cmp $4, %ecx
	jne 4f
	mov %esi, (%rdx)
	jmp 8f
4:	mov %rsi, (%rdx)
	jmp 8f
5:	cmp $1, %ecx
	jne 6f
	movzbl (%rdx), %eax
	jmp 7f
6:	cmp $2, %ecx
	jne 61f
	movzwl (%rdx), %eax
	jmp 7f
61:	mov (%rdx), %eax
7:	and 4(%rbx), %eax
	cmp 8(%rbx), %eax
	je 8f
	lea msg_script(%rip), %rsi
	mov %rbx, %rdi
	sub %rbp, %rdi
	shr $4, %rdi			/* the entry's number */
	call fail
8:	add $16, %rbx
	jmp 1b
9:	pop %rbp
	pop %rbx
	ret

/* Script entry %rbx through the window: op 3 writes, op 4 reads (%eax). */
window_step:
	xor %edx, %edx
	movzwl 2(%rbx), %esi
	movzbl 1(%rbx), %ecx
	call win_set
	cmpb $3, (%rbx)
	jne win_rd
	mov 8(%rbx), %ecx
	jmp win_wr

/* --- Queues ------------------------------------------------------------- */

zero_rings:
	xor %eax, %eax
	mov $Q_DESC, %edi
	mov $0x3000 / 8, %ecx
	rep stosq
	ret

/* The default rings, then setup_queue_at. */
setup_queue:
	call default_rings
	jmp setup_queue_at

default_rings:
	movq $Q_DESC, qd(%rip)
	movq $Q_AVAIL, qa(%rip)
	movq $Q_USED, qu(%rip)
	ret

/*
 * Queue 0 of the disk at %r12 with QSIZE entries on the rings at qd, qa
 * and qu (zeroed), as a driver does it; vectors 0 and 1 (sane ones
 * unless sane_vectors is 0). %eax = 0, or 1 when it is not enabled.
 */
setup_queue_at:
	movb $0, C_STATUS(%r12)
	mov qd(%rip), %rdi
	mov $QSIZE * 16, %ecx
	call zero_bytes
	mov qa(%rip), %rdi
	mov $6 + 2 * QSIZE, %ecx
	call zero_bytes
	mov qu(%rip), %rdi
	mov $6 + 8 * QSIZE, %ecx
	call zero_bytes
	movw $0, avail_shadow(%rip)
	movb $S_ACK, C_STATUS(%r12)
	movb $S_ACK | S_DRIVER, C_STATUS(%r12)
	movl $0, C_DFSELECT(%r12)
	mov C_DF(%r12), %eax
	mov %eax, devfeat(%rip)
	movl $0, C_GFSELECT(%r12)
	mov feat0(%rip), %eax
	mov %eax, C_GF(%r12)
	movl $1, C_GFSELECT(%r12)
	movl $FEAT_VERSION_1, C_GF(%r12)
	movb $S_SETUP, C_STATUS(%r12)
	movw $0, C_QSELECT(%r12)
	movw $QSIZE, C_QSIZE(%r12)
	movw $0, C_QMSIX(%r12)
	mov qd(%rip), %rax
	mov %rax, C_QDESC(%r12)
	mov qa(%rip), %rax
	mov %rax, C_QAVAIL(%r12)
	mov qu(%rip), %rax
	mov %rax, C_QUSED(%r12)
	movw $1, C_QENABLE(%r12)
	cmpw $1, C_QENABLE(%r12)
	jne 2f
	movw $1, C_MSIX(%r12)
	cmpb $0, sane_vectors(%rip)
	je 1f
	call sane_msix
1:	movb $S_SETUP | S_DRIVER_OK, C_STATUS(%r12)
	xor %eax, %eax
	ret
2:	mov $1, %eax
	ret

/* Exactly the ring's bytes: one may end at RAM's end. */
zero_bytes:
	xor %eax, %eax
	rep stosb
	ret

/* Table entries 0 and 1 to VEC_QUEUE and VEC_CONFIG; MSI-X unmasked. */
sane_msix:
	movl $MSI_ADDR, MSIX_TABLE(%r12)
	movl $0, MSIX_TABLE + 4(%r12)
	movl $VEC_QUEUE, MSIX_TABLE + 8(%r12)
	movl $0, MSIX_TABLE + 12(%r12)
	movl $MSI_ADDR, MSIX_TABLE + 16(%r12)
	movl $0, MSIX_TABLE + 20(%r12)
	movl $VEC_CONFIG, MSIX_TABLE + 24(%r12)
	movl $0, MSIX_TABLE + 28(%r12)
	mov %r13d, %edi
	mov msix_cap(%rip), %esi
	add $2, %esi
	mov $MSIX_ENABLE, %ecx
	jmp cfg_wr16

/* Head %ax into the avail ring (used_event just behind it). */
post:
	mov qa(%rip), %rdx
	movzwl avail_shadow(%rip), %ecx
	mov %ecx, %r8d
	and $QSIZE - 1, %r8d
	mov %ax, 4(%rdx,%r8,2)
	mov %cx, 4 + 2 * QSIZE(%rdx)	/* used_event */
	inc %ecx
	mov %cx, avail_shadow(%rip)
	mov %cx, 2(%rdx)
	ret

kick:
	movw $0, NOTIFY(%r12)
	ret

/*
 * Waits until the used idx reaches %ecx (-1: never), the device asks for
 * a reset, or WAIT_TICKS pass: %eax = 0, 1 or 2.
 */
wait_for:
	mov qu(%rip), %rdx
	mov ticks(%rip), %r8
	add $WAIT_TICKS, %r8
1:	cli
	movzwl 2(%rdx), %eax
	cmp %ecx, %eax
	je 2f
	testb $S_NEEDS_RESET, C_STATUS(%r12)
	jnz 3f
	cmp ticks(%rip), %r8
	jb 4f
	sti
	hlt				/* sti's shadow: no wake-up lost */
	jmp 1b
2:	sti
	xor %eax, %eax
	ret
3:	sti
	mov $1, %eax
	ret
4:	sti
	mov $2, %eax
	ret

wait_used:
	movzwl avail_shadow(%rip), %ecx
	jmp wait_for

/* Descriptor %edi: %rsi, %edx bytes, flags | next << 16 in %ecx. */
set_desc:
	shl $4, %edi
	add qd(%rip), %rdi
	mov %rsi, (%rdi)
	mov %edx, 8(%rdi)
	mov %ecx, 12(%rdi)
	ret

/*
 * Descriptors 0-2: the header at %rsi, 512 bytes of DATA with %ecx's
 * flags (F_WRITE to read the disk), the status byte (set UNTOUCHED).
 */
set_request:
	push %rcx
	xor %edi, %edi
	mov $16, %edx
	mov $F_NEXT | 1 << 16, %ecx
	call set_desc
	pop %rcx
	or $F_NEXT | 2 << 16, %ecx
	mov $1, %edi
	mov $DATA, %esi
	mov $512, %edx
	call set_desc
	mov $2, %edi
	mov $STATUS, %esi
	mov $1, %edx
	mov $F_WRITE, %ecx
	call set_desc
	movb $UNTOUCHED, STATUS
	ret

/* The used element last pushed: %eax = its id, %edx its length. */
last_used:
	mov qu(%rip), %rdx
	movzwl 2(%rdx), %eax
	dec %eax
	and $QSIZE - 1, %eax
	lea 4(%rdx,%rax,8), %rdx
	mov (%rdx), %eax
	mov 4(%rdx), %edx
	ret

/*
 * The request set_request built, posted and kicked: %eax = 0 when it was
 * used with len %ecx and status %esi; else a failure is counted and the
 * queue set up again.
 */
request:
	push %rcx
	push %rsi
	xor %eax, %eax
	call post
	call kick
	pop %rsi
	pop %rcx
	/* fall through */

/* The same for a request posted and kicked already. */
request_wait:
	push %rbx
	push %rbp
	mov %ecx, %ebx
	mov %esi, %ebp
	call wait_used
	test %eax, %eax
	jnz 2f
	call last_used
	test %eax, %eax
	jnz 1f
	cmp %ebx, %edx
	jne 1f
	movzbl STATUS, %eax
	cmp %ebp, %eax
	jne 1f
	xor %eax, %eax
	jmp 3f
1:	mov $3, %eax
2:	push %rax
	lea msg_request(%rip), %rsi
	mov %rax, %rdi
	call fail
	call note_used
	call setup_queue
	pop %rax
3:	pop %rbp
	pop %rbx
	ret

/* After a failure: "HOSTVIRT: used idx I id D len L status S". */
note_used:
	cmpl $MAX_REPORTS, failures(%rip)
	ja 1f
	lea msg_used(%rip), %rsi
	call puts
	mov qu(%rip), %rdx
	movzwl 2(%rdx), %eax
	call putnum
	lea msg_id(%rip), %rsi
	call puts
	call last_used
	push %rdx
	call putnum
	lea msg_len(%rip), %rsi
	call puts
	pop %rax
	call putnum
	lea msg_status(%rip), %rsi
	call puts
	movzbl STATUS, %eax
	call putdec
1:	ret

/*
 * Sector 0 read: served, status OK, and this disk's magic. Counted as
 * a check; a failure names the step it followed (%edi).
 */
valid_read:
	incl checks(%rip)
	mov $DATA, %edi
	mov $0xA5, %al
	mov $512, %ecx
	rep stosb
	mov $H_READ0, %esi
	mov $F_WRITE, %ecx
	call set_request
	mov $513, %ecx
	xor %esi, %esi
	call request
	test %eax, %eax
	jnz 1f
	lea magic(%rip), %rsi
	mov $DATA, %edi
	mov $15, %ecx
	repe cmpsb
	jne 2f
	mov %r14d, %eax
	add $'0', %al
	cmp %al, DATA + 15
	je 1f
2:	lea msg_magic(%rip), %rsi
	mov %r14, %rdi
	call fail
1:	ret

storm_queues:
	push %rbx
	push %rbp
	call setup_queue
	test %eax, %eax
	jz 1f
	lea msg_setup(%rip), %rsi
	mov $-1, %rdi
	call fail
	jmp 3f
1:	call valid_read
	lea cases(%rip), %rbx
	xor %ebp, %ebp
2:	cmpb $0, (%rbx)
	je 4f
	mov %rbx, %rsi
	mov %ebp, %edi
	call run_case
	mov %rax, %rbx
	inc %ebp
	jmp 2b
4:	call case_e2big
	call case_overflow
	call break_rings
	call rings_at_edges
	call reset_midflight
	call bell_follows
	call random_chains
3:	movb $0, C_STATUS(%r12)
	pop %rbp
	pop %rbx
	ret

/*
 * Case %edi at %rsi (the cases table): its descriptors to the ring, its
 * indirect ones to IND; head 0 posted and kicked; the used element must
 * say the expected length and the status byte the expected status.
 * Returns the next case in %rax.
 */
run_case:
	push %rbx
	push %rbp
	mov %rsi, %rbx
	mov %edi, case_no(%rip)
	movzbl (%rbx), %ecx
	shl $4, %ecx
	lea 8(%rbx), %rsi
	mov qd(%rip), %rdi
	rep movsb
	movzbl 1(%rbx), %ecx
	shl $4, %ecx
	mov $IND, %edi
	rep movsb
	mov %rsi, %rbp
	movb $UNTOUCHED, STATUS
	call expect_used
	call valid_read
	mov %rbp, %rax
	pop %rbp
	pop %rbx
	ret

/* Head 0 posted: used with len 4(%rbx) and status 2(%rbx) (ANY: any). */
expect_used:
	xor %eax, %eax
	call post
	call kick
	call wait_used
	test %eax, %eax
	jnz 2f
	call last_used
	test %eax, %eax
	jnz 1f
	cmp 4(%rbx), %edx
	jne 1f
	movzbl 2(%rbx), %eax
	cmp $ANY, %eax
	je 3f
	cmpb STATUS, %al
	je 3f
1:	mov $3, %eax
2:	push %rax
	lea msg_case(%rip), %rsi
	mov case_no(%rip), %edi
	call fail
	call note_used
	pop %rax
	call setup_queue
3:	ret

/* More than VQ_MAX_IOV (256) readable segments in an indirect table. */
case_e2big:
	push %rbx
	mov $IND, %edi
	xor %ebx, %ebx
1:	lea 1(%rbx), %eax
	shl $16, %eax
	or $F_NEXT, %eax
	movq $H_READ0, (%rdi)
	movl $1, 8(%rdi)
	mov %eax, 12(%rdi)
	add $16, %rdi
	inc %ebx
	cmp $300, %ebx
	jb 1b
	movq $STATUS, (%rdi)
	movl $1, 8(%rdi)
	movl $F_WRITE, 12(%rdi)
	mov $301 * 16, %edx
	jmp indirect_case

/* Readable lengths that add up past 4 GiB, each inside RAM. */
case_overflow:
	push %rbx
	mov $IND, %edi
	xor %ebx, %ebx
1:	lea 1(%rbx), %eax
	shl $16, %eax
	or $F_NEXT, %eax
	movq $0, (%rdi)
	movl $0x0F000000, 8(%rdi)
	mov %eax, 12(%rdi)
	add $16, %rdi
	inc %ebx
	cmp $20, %ebx
	jb 1b
	movq $STATUS, (%rdi)
	movl $1, 8(%rdi)
	movl $F_WRITE, 12(%rdi)
	mov $21 * 16, %edx
	/* fall through */

/* Head 0: the table at IND, %edx bytes; used with length 0, untouched. */
indirect_case:
	xor %edi, %edi
	mov $IND, %esi
	mov $F_INDIRECT, %ecx
	call set_desc
	movb $UNTOUCHED, STATUS
	lea table_case(%rip), %rbx
	movl $-1, case_no(%rip)
	call expect_used
	call valid_read
	pop %rbx
	ret

/*
 * The guest breaks its own ring: a head past the queue (two ways), the
 * avail idx 1000 ahead, and behind. Each must end in NEEDS_RESET, and a
 * new setup must serve again.
 */
break_rings:
	mov $0xFFFF, %eax
	call break_head
	mov $QSIZE, %eax
	call break_head
	mov $1000, %eax
	call break_idx
	mov $-1, %eax
	/* fall through */

/* The avail idx moved by %ax with nothing posted. */
break_idx:
	mov qa(%rip), %rdx
	add %ax, avail_shadow(%rip)
	movzwl avail_shadow(%rip), %eax
	mov %ax, 2(%rdx)
	call kick
	jmp expect_break

break_head:
	push %rax
	mov $H_READ0, %esi
	mov $F_WRITE, %ecx
	call set_request
	pop %rax
	call post
	call kick
	/* fall through */

expect_break:
	mov $-1, %ecx
	call wait_for
	cmp $1, %eax
	je 1f
	lea msg_break(%rip), %rsi
	mov %rax, %rdi
	call fail
1:	call setup_queue
	jmp valid_read

/*
 * Rings next to RAM's end (the avail ring ends there) work; used over
 * avail is the guest's own mess (any outcome), and a reset clears it.
 */
rings_at_edges:
	movq $RAM_END - 0x200, qd(%rip)
	movq $RAM_END - (6 + 2 * QSIZE), qa(%rip)
	movq $RAM_END - 0x100, qu(%rip)
	call setup_queue_at
	test %eax, %eax
	jz 1f
	lea msg_edge(%rip), %rsi
	mov $-1, %rdi
	call fail
	jmp 2f
1:	call valid_read
2:	movq $Q_DESC, qd(%rip)
	movq $Q_AVAIL, qa(%rip)
	movq $Q_AVAIL, qu(%rip)
	call setup_queue_at
	mov $H_READ0, %esi
	mov $F_WRITE, %ecx
	call set_request
	xor %eax, %eax
	call post
	call kick
	mov $20, %ecx			/* a short wait: anything goes */
	call wait_ticks
	call setup_queue
	jmp valid_read

/* Sleeps %ecx ticks. */
wait_ticks:
	mov ticks(%rip), %rax
	add %rcx, %rax
1:	hlt
	cmp ticks(%rip), %rax
	ja 1b
	ret

/*
 * A full ring of indirect reads, kicked, and the device reset at once
 * (twice with decoding switched off and on between); then set up again.
 */
reset_midflight:
	push %rbx
	push %rbp
	xor %ebp, %ebp
1:	xor %ebx, %ebx
2:	call midflight_request
	inc %ebx
	cmp $QSIZE, %ebx
	jb 2b
	call kick
	test $1, %ebp
	jz 3f
	mov %r13d, %edi
	mov $PCI_CMD, %esi
	xor %ecx, %ecx
	call cfg_wr16
	mov $CMD_ON, %ecx
	call cfg_wr16
3:	movb $0, C_STATUS(%r12)
	call setup_queue
	call valid_read
	inc %ebp
	cmp $4, %ebp
	jb 1b
	pop %rbp
	pop %rbx
	ret

/* Request %ebx: an indirect read of sector %ebx & 1, posted unkicked. */
midflight_request:
	imul $48, %ebx, %edi
	add $IND, %edi
	mov %ebx, %eax
	and $1, %eax
	shl $4, %eax
	add $H_READ0, %eax
	mov %rax, (%rdi)
	movl $16, 8(%rdi)
	movl $F_NEXT | 1 << 16, 12(%rdi)
	mov %ebx, %eax
	shl $9, %eax
	add $DATA, %eax
	mov %rax, 16(%rdi)
	movl $512, 24(%rdi)
	movl $F_WRITE | F_NEXT | 2 << 16, 28(%rdi)
	lea STATUS(%rbx), %eax
	mov %rax, 32(%rdi)
	movl $1, 40(%rdi)
	movl $F_WRITE, 44(%rdi)
	mov %rdi, %rsi
	mov %ebx, %edi
	mov $48, %edx
	mov $F_INDIRECT, %ecx
	call set_desc
	mov %ebx, %eax
	jmp post

/*
 * BAR0 moved under a live queue: kicks at the new place are served;
 * with decoding off a kick goes nowhere, and once it is back on the
 * next one is served. MSI-X off, then masked: completions without an
 * interrupt (the timer wakes the wait). Then BAR0 back.
 */
bell_follows:
	mov %r13d, %edi
	mov %r13d, %ecx
	shl $16, %ecx
	add $BAR_ALT, %ecx
	mov %rcx, %r12
	call set_bar0
	call valid_read
	incl checks(%rip)
	mov $H_READ0, %esi
	mov $F_WRITE, %ecx
	call set_request
	xor %eax, %eax
	call post
	mov %r13d, %edi
	mov $PCI_CMD, %esi
	xor %ecx, %ecx
	call cfg_wr16
	call kick			/* nobody decodes it */
	mov $CMD_ON, %ecx
	call cfg_wr16
	call kick
	call wait_used
	test %eax, %eax
	jz 1f
	lea msg_bell(%rip), %rsi
	mov %rax, %rdi
	call fail
	call setup_queue
1:	call msix_ctrl_zero
	call valid_read
	mov $MSIX_ENABLE | MSIX_FMASK, %ecx
	call msix_ctrl
	call valid_read
	mov $MSIX_ENABLE, %ecx
	call msix_ctrl
	mov %r13d, %edi
	mov %r13d, %ecx
	shl $16, %ecx
	add $BAR_BASE, %ecx
	mov %rcx, %r12
	call set_bar0
	jmp valid_read

msix_ctrl_zero:
	xor %ecx, %ecx
	/* fall through */

/* MSI-X message control of the current disk = %cx. */
msix_ctrl:
	mov %r13d, %edi
	mov msix_cap(%rip), %esi
	add $2, %esi
	jmp cfg_wr16

/*
 * RANDOM_ROUNDS rounds of random descriptors (rand_desc) in the ring
 * and at IND, 1-8 random heads (some past the queue), sometimes an avail
 * idx jump and a random used_event, one kick. Each round must end with
 * every head used or the ring broken; a broken ring is set up again.
 */
random_chains:
	push %rbx
	push %rbp
	xor %ebp, %ebp
1:	xor %ebx, %ebx
2:	mov %rbx, %rdi
	shl $4, %rdi
	add $Q_DESC, %rdi
	call rand_desc
	inc %ebx
	cmp $QSIZE, %ebx
	jb 2b
	xor %ebx, %ebx
3:	mov %rbx, %rdi
	shl $4, %rdi
	add $IND, %rdi
	call rand_desc
	inc %ebx
	cmp $64, %ebx
	jb 3b
	call rand_heads
	call kick
	call wait_used
	cmp $1, %eax
	jb 5f
	ja 4f
	incl broken(%rip)
	call setup_queue
	jmp 5f
4:	lea msg_random(%rip), %rsi
	mov %rbp, %rdi
	call fail
	call setup_queue
5:	inc %ebp
	cmp $RANDOM_ROUNDS, %ebp
	jb 1b
	call valid_read
	pop %rbp
	pop %rbx
	ret

/* 1-8 heads; 1 in 32 rounds an avail idx jump; used_event random. */
rand_heads:
	push %rbx
	call rnd
	and $7, %eax
	lea 1(%rax), %ebx
1:	call rnd
	cmp $8, %al
	mov $0xFFFF, %ecx
	cmovb %ecx, %eax		/* 1 in 32: a head past the queue */
	and $0xFFFF, %eax
	cmp $0xFFFF, %eax
	je 2f
	and $QSIZE - 1, %eax
2:	call post
	dec %ebx
	jnz 1b
	pop %rbx
	mov qa(%rip), %rdx
	call rnd
	mov %ax, 4 + 2 * QSIZE(%rdx)
	test $0x1F00, %eax
	jnz 3f
	shr $16, %eax
	add %ax, avail_shadow(%rip)
	movzwl avail_shadow(%rip), %eax
	mov %ax, 2(%rdx)
3:	ret

/*
 * A random descriptor at %rdi: in the noise at RAND, at RAM's end,
 * anywhere, or at IND (short there: the headers and DATA are above it);
 * random flags and a next that may be past the queue.
 */
rand_desc:
	call rnd
	mov %eax, %ecx
	and $3, %ecx
	mov %rax, %rdx
	shr $32, %rdx			/* a length */
	call rnd
	cmp $1, %ecx
	jb 1f
	je 2f
	cmp $2, %ecx
	je 3f
	and $0x3F0, %eax		/* IND */
	add $IND, %rax
	and $0x3F0, %edx
	jmp 4f
1:	and $RAND_LEN - 1, %eax		/* RAND */
	add $RAND, %rax
	and $0xFFFF, %edx
	jmp 4f
2:	and $0xFFFF, %eax		/* RAM's end */
	neg %rax
	add $RAM_END, %rax
	and $0xFFFF, %edx
3:	/* anywhere: %rax as it is, any length */
4:	mov %rax, (%rdi)
	mov %edx, 8(%rdi)
	call rnd
	and $0x001F0007, %eax		/* flags, next */
	mov %eax, 12(%rdi)
	ret

/*
 * Every disk's queue live on its own rings, their BAR0s moved together
 * through bar_places (doorbells at garbage addresses and on each other),
 * kicked where nothing else lives; then each back, and served again.
 */
live_bars:
	push %rbx
	push %rbp
	lea live_setup(%rip), %rsi
	call each_disk
	lea bar_places(%rip), %rbx
1:	xor %ebp, %ebp
2:	lea disk_slots(%rip), %rdx
	mov (%rdx,%rbp,4), %edi
	mov (%rbx), %rcx
	call set_bar0
	inc %ebp
	cmp ndisks(%rip), %ebp
	jb 2b
	cmpq $0, 8(%rbx)
	je 3f
	mov (%rbx), %rdx
	movw $0, NOTIFY(%rdx)
	mov C_STATUS(%rdx), %al
3:	add $16, %rbx
	lea bar_places_end(%rip), %rax
	cmp %rax, %rbx
	jb 1b
	lea live_check(%rip), %rsi
	call each_disk
	pop %rbp
	pop %rbx
	ret

/* This disk's rings for live_bars. */
live_rings:
	mov %r14d, %eax
	shl $14, %eax
	add $LIVE_RINGS, %eax
	mov %rax, qd(%rip)
	add $0x1000, %eax
	mov %rax, qa(%rip)
	add $0x1000, %eax
	mov %rax, qu(%rip)
	ret

live_setup:
	call live_rings
	call setup_queue_at
	test %eax, %eax
	jz 1f
	lea msg_setup(%rip), %rsi
	mov $-1, %rdi
	call fail
1:	ret

live_check:
	mov %r13d, %edi
	mov %r12d, %ecx
	call set_bar0
	call live_rings
	movw $0, avail_shadow(%rip)
	call valid_read
	movb $0, C_STATUS(%r12)
	ret

/*
 * What the test's reboot must clean up: a full ring in flight of the
 * biggest reads evmm serves and of 1 GiB ones (it refuses them: they
 * would keep the reboot waiting), garbage vectors, BAR0 at the top of
 * the address space, decoding on.
 */
leave_mess:
	push %rbx
	call setup_queue
	xor %ebx, %ebx
1:	mov $MAX_SEG, %edx
	mov $MAX_SEGS, %ecx
	test $1, %ebx
	jz 2f
	mov $HUGE_SEG, %edx
	mov $HUGE_SEGS, %ecx
2:	call big_request
	inc %ebx
	cmp $QSIZE, %ebx
	jb 1b
	call kick
	call garbage_table
	mov %r13d, %edi
	movabs $BAR_TOP, %rcx
	call set_bar0
	pop %rbx
	ret

/*
 * Request %ebx, posted: sector 0 on into %ecx segments of %edx bytes at
 * BIG_BUF, through an indirect table.
 */
big_request:
	imul $BIG_TABLE, %ebx, %edi
	add $IND, %edi
	mov %rdi, %rsi
	lea 2(%rcx), %r8d
	shl $4, %r8d			/* the table's bytes */
	movq $H_READ0, (%rdi)
	movl $16, 8(%rdi)
	movl $F_NEXT | 1 << 16, 12(%rdi)
	mov $1, %r9d
1:	add $16, %rdi
	movq $BIG_BUF, (%rdi)
	mov %edx, 8(%rdi)
	lea 1(%r9), %eax
	shl $16, %eax
	or $F_WRITE | F_NEXT, %eax
	mov %eax, 12(%rdi)
	inc %r9d
	cmp %ecx, %r9d
	jbe 1b
	lea STATUS(%rbx), %eax
	mov %rax, 16(%rdi)
	movl $1, 24(%rdi)
	movl $F_WRITE, 28(%rdi)
	mov %ebx, %edi
	mov %r8d, %edx
	mov $F_INDIRECT, %ecx
	call set_desc
	mov %ebx, %eax
	jmp post

/* --- The last check ----------------------------------------------------- */

/*
 * With a fresh setup: sector 0's magic; a readonly disk refuses a write
 * of sector 0 (IOERR) and keeps its magic; another takes sector 1 and
 * reads it back. One line says how it went.
 */
final_check:
	push %rbx
	mov failures(%rip), %ebx
	movl $FEAT_INDIRECT, feat0(%rip)
	call setup_queue
	test %eax, %eax
	jz 1f
	lea msg_setup(%rip), %rsi
	mov $-1, %rdi
	call fail
	jmp 4f
1:	call valid_read
	testl $BLK_F_RO, devfeat(%rip)
	jz 2f
	call fill_wrote
	incl checks(%rip)
	mov $H_WRITE0, %esi
	xor %ecx, %ecx
	call set_request
	mov $1, %ecx
	mov $BLK_IOERR, %esi
	call request
	call valid_read
	jmp 4f
2:	call fill_wrote
	incl checks(%rip)
	mov $H_WRITE1, %esi
	xor %ecx, %ecx
	call set_request
	mov $1, %ecx
	xor %esi, %esi
	call request
	mov $DATA, %edi
	xor %eax, %eax
	mov $512, %ecx
	rep stosb
	incl checks(%rip)
	mov $H_READ1, %esi
	mov $F_WRITE, %ecx
	call set_request
	mov $513, %ecx
	xor %esi, %esi
	call request
	lea wrote(%rip), %rsi
	mov $DATA, %edi
	mov $16, %ecx
	repe cmpsb
	je 4f
	lea msg_readback(%rip), %rsi
	mov $-1, %rdi
	call fail
4:	movb $0, C_STATUS(%r12)
	lea msg_check(%rip), %rsi
	call puts
	mov %r13d, %eax
	call putnum
	lea msg_ro(%rip), %rsi
	call puts
	mov devfeat(%rip), %eax
	shr $5, %eax
	and $1, %eax
	call putnum
	lea msg_passed(%rip), %rsi
	cmp failures(%rip), %ebx
	je 5f
	lea msg_failed(%rip), %rsi
5:	call puts
	pop %rbx
	ret

/* DATA: "HOSTVIRT-WROTE-1" over the whole sector. */
fill_wrote:
	mov $DATA, %edi
	mov $32, %edx
1:	lea wrote(%rip), %rsi
	mov $16, %ecx
	rep movsb
	dec %edx
	jnz 1b
	ret

/* --- Failures, the console, the generator ------------------------------- */

/*
 * Counts a failure and prints "HOSTVIRT: FAIL <%rsi> <%rdi unless -1>
 * slot S pass P" (the first MAX_REPORTS of them).
 */
fail:
	incl failures(%rip)
	cmpl $MAX_REPORTS, failures(%rip)
	ja 2f
	push %rdi
	push %rsi
	lea msg_fail(%rip), %rsi
	call puts
	pop %rsi
	call puts
	pop %rax
	cmp $-1, %rax
	je 1f
	call putnum
1:	lea msg_slot(%rip), %rsi
	call puts
	mov %r13d, %eax
	call putnum
	lea msg_in_pass(%rip), %rsi
	call puts
	mov pass(%rip), %eax
	call putdec
2:	ret

/* %rax = the next xorshift64 value; flags clobbered. */
rnd:
	mov %r15, %rax
	shl $13, %rax
	xor %rax, %r15
	mov %r15, %rax
	shr $7, %rax
	xor %rax, %r15
	mov %r15, %rax
	shl $17, %rax
	xor %rax, %r15
	mov %r15, %rax
	ret

/* Power-on UART state: no DLAB, no loopback, no interrupts, FIFOs cleared. */
uart_reset:
	mov $PL_COM1 + 3, %edx
	mov $0x03, %al
	out %al, %dx
	mov $PL_COM1 + 4, %edx
	xor %al, %al
	out %al, %dx
	mov $PL_COM1 + 1, %edx
	out %al, %dx
	mov $PL_COM1 + 2, %edx
	mov $0x07, %al
	out %al, %dx
	ret

putc:
	mov %al, %ah
	mov $PL_COM1_LSR, %edx
1:	in %dx, %al
	test $PL_LSR_THRE, %al
	jz 1b
	mov %ah, %al
	mov $PL_COM1, %edx
	out %al, %dx
	ret

/* The NUL-terminated string at %rsi. */
puts:
1:	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp 1b
2:	ret

/* %rax in decimal; putdec adds a newline. */
putnum:
	lea numbuf + 31(%rip), %rsi
	movb $0, (%rsi)
	mov $10, %ecx
1:	xor %edx, %edx
	div %rcx
	add $'0', %dl
	dec %rsi
	mov %dl, (%rsi)
	test %rax, %rax
	jnz 1b
	jmp puts

putdec:
	call putnum
	mov $'\n', %al
	jmp putc

/* --- Interrupts --------------------------------------------------------- */

/* Exceptions to exc_stubs, the timer to timer_isr, the rest to irq_isr. */
setup_idt:
	lea idt(%rip), %rdi
	xor %ecx, %ecx
1:	lea irq_isr(%rip), %rax
	cmp $32, %ecx
	jae 2f
	mov %ecx, %eax
	shl $4, %eax
	lea exc_stubs(%rip), %rdx
	add %rdx, %rax
2:	cmp $VEC_TIMER, %ecx
	jne 3f
	lea timer_isr(%rip), %rax
3:	mov %ax, (%rdi)
	movw $BOOT_CS, 2(%rdi)
	movw $0x8E00, 4(%rdi)		/* present, interrupt gate */
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	add $16, %rdi
	inc %ecx
	cmp $256, %ecx
	jb 1b
	lea idt(%rip), %rax
	mov %rax, idt_desc + 2(%rip)
	lidt idt_desc(%rip)
	ret

/* A periodic LAPIC timer every TICK_NS; the 8259 masked. */
setup_timer:
	mov $0xFF, %al
	out %al, $0x21
	out %al, $0xA1
	mov $PL_LAPIC, %edx
	movl $0x10000, LAPIC_LVT0(%rdx)	/* masked */
	orl $0x100, LAPIC_SVR(%rdx)	/* software enable */
	movl $0xB, LAPIC_TIMER_DCR(%rdx)	/* divide by 1 */
	movl $0x20000 | VEC_TIMER, LAPIC_LVT_TIMER(%rdx)	/* periodic */
	movl $TICK_NS, LAPIC_TIMER_ICR(%rdx)
	ret

timer_isr:
	incq ticks(%rip)
	/* fall through */
irq_isr:
	push %rdx
	mov $PL_LAPIC, %edx
	movl $0, LAPIC_EOI(%rdx)
	pop %rdx
	iretq

/* An exception is a bug here (or in evmm): say which, and stop. */
	.balign 16
exc_stubs:
	.set vec, 0
	.rept 32
	.balign 16
	push $vec
	jmp exc_common
	.set vec, vec + 1
	.endr
exc_common:
	call uart_reset
	lea msg_exception(%rip), %rsi
	call puts
	pop %rax
	call putdec
1:	cli
	hlt
	jmp 1b

/* "HOSTVIRT: tick N" once a second. */
tick_loop:
	xor %ebx, %ebx
	mov ticks(%rip), %rbp
1:	hlt
	mov ticks(%rip), %rax
	sub %rbp, %rax
	cmp $1000000000 / TICK_NS, %rax
	jb 1b
	add $1000000000 / TICK_NS, %rbp
	inc %rbx
	lea msg_tick(%rip), %rsi
	call puts
	mov %rbx, %rax
	call putdec
	jmp 1b

/* --- Data --------------------------------------------------------------- */

/* BAR0's garbage places: address, and whether to use it there. */
	.balign 8
bar_places:
	.quad 0, 0			/* RAM: the IVT, the zero page */
	.quad 0x100000, 0		/* this payload */
	.quad RAM_END - 0x8000, 0	/* RAM's last 32 KiB */
	.quad BAR_BASE + 0x100000, 1	/* in the window */
	.quad 0xDFFF8000, 1		/* the window's last 32 KiB */
	.quad PL_PCI_ECAM, 0
	.quad PL_PCI_ECAM + 0x8000, 0	/* slot 1's configuration space */
	.quad 0xFE000000, 0		/* evmm's device window */
	.quad 0xFEC00000, 0		/* IOAPIC */
	.quad PL_LAPIC, 0
	.quad 0xFFFF8000, 0		/* 4 GiB's last 32 KiB */
	.quad 0x100000000, 0		/* the 64-bit window */
	.quad 0x7FFFFFFFFFFF8000, 0
	.quad BAR_TOP, 0
bar_places_end:

/* BAR0 ranges storm_range covers: offset, length. */
	.balign 4
regions:
	.word 0x0FF8, 0x10		/* the common region's end */
	.word ISR, 0x10
	.word DEVCFG, 0x40
	.word DEVCFG + 0xFF8, 0x10
	.word NOTIFY - 8, 0x10		/* the notify region's start */
	.word NOTIFY + 0xFF8, 0x10	/* its end, into the MSI-X table */
	.word MSIX_TABLE, 0x40		/* two entries and past them */
	.word MSIX_TABLE + 0xFF8, 0x10
	.word MSIX_PBA, 0x10
	.word MSIX_PBA + 0xFF8, 0x10
	.word 0x7FF0, 0x10		/* BAR0's end */
regions_end:

/* Script entries: op (1 write, 2 expect), width, offset, mask, value. */
.macro W width, off, val
	.byte 1, \width
	.word \off
	.long 0
	.quad \val
.endm
.macro X width, off, mask, val
	.byte 2, \width
	.word \off
	.long \mask
	.quad \val
.endm
/* Reset, then VERSION_1 | INDIRECT_DESC accepted with FEATURES_OK. */
.macro NEGOTIATE
	W 1, C_STATUS, 0
	W 1, C_STATUS, S_ACK
	W 1, C_STATUS, (S_ACK | S_DRIVER)
	W 4, C_GFSELECT, 0
	W 4, C_GF, FEAT_INDIRECT
	W 4, C_GFSELECT, 1
	W 4, C_GF, FEAT_VERSION_1
	W 1, C_STATUS, S_SETUP
	X 1, C_STATUS, S_FEATURES_OK, S_FEATURES_OK
.endm
.macro RINGS desc, avail, used, size
	W 2, C_QSELECT, 0
	W 2, C_QSIZE, \size
	W 8, C_QDESC, \desc
	W 8, C_QAVAIL, \avail
	W 8, C_QUSED, \used
.endm
/* Negotiated, rings set, enabled: refused, and the device needs a reset. */
.macro REFUSED desc, avail, used, size
	NEGOTIATE
	RINGS \desc, \avail, \used, \size
	W 2, C_QENABLE, 1
	X 2, C_QENABLE, 0xFFFF, 0
	X 1, C_STATUS, S_NEEDS_RESET, S_NEEDS_RESET
.endm

	.balign 16
script_regs:
	/* Status out of order: DRIVER_OK and FEATURES_OK need their turn. */
	W 1, C_STATUS, 0
	W 1, C_STATUS, S_DRIVER_OK
	X 1, C_STATUS, S_DRIVER_OK, 0
	W 1, C_STATUS, S_FEATURES_OK
	X 1, C_STATUS, S_FEATURES_OK, 0
	W 1, C_STATUS, 0xFF
	X 1, C_STATUS, (S_DRIVER_OK | S_FEATURES_OK), 0
	W 1, C_STATUS, S_NEEDS_RESET
	W 1, C_STATUS, 0
	X 1, C_STATUS, 0xFF, 0
	/* Feature words that do not exist, bits never offered. */
	W 4, C_DFSELECT, 0xFFFFFFFF
	X 4, C_DF, 0xFFFFFFFF, 0
	W 4, C_GFSELECT, 7
	W 4, C_GF, 0xFFFFFFFF
	W 4, C_GFSELECT, 0
	W 4, C_GF, 0xFFFFFFFF
	W 4, C_GFSELECT, 1
	W 4, C_GF, 0xFFFFFFFF
	W 1, C_STATUS, S_SETUP
	X 1, C_STATUS, S_FEATURES_OK, 0
	/* A queue enabled before FEATURES_OK. */
	W 1, C_STATUS, 0
	W 1, C_STATUS, (S_ACK | S_DRIVER)
	RINGS Q_DESC, Q_AVAIL, Q_USED, QSIZE
	W 2, C_QENABLE, 1
	X 2, C_QENABLE, 0xFFFF, 0
	/* Queues that do not exist. */
	NEGOTIATE
	W 2, C_QSELECT, 1
	X 2, C_QSIZE, 0xFFFF, 0
	W 2, C_QSIZE, QSIZE
	W 8, C_QDESC, Q_DESC
	W 2, C_QMSIX, 0
	W 2, C_QENABLE, 1
	X 2, C_QENABLE, 0xFFFF, 0
	W 2, C_QSELECT, 0xFFFF
	W 2, C_QENABLE, 1
	X 2, C_QENABLE, 0xFFFF, 0
	W 2, C_QSELECT, 0
	X 2, C_QENABLE, 0xFFFF, 0
	/* Sizes: 0, not powers of two, past the maximum. */
	REFUSED Q_DESC, Q_AVAIL, Q_USED, 0
	REFUSED Q_DESC, Q_AVAIL, Q_USED, 3
	REFUSED Q_DESC, Q_AVAIL, Q_USED, 100
	REFUSED Q_DESC, Q_AVAIL, Q_USED, (QMAX * 2)
	REFUSED Q_DESC, Q_AVAIL, Q_USED, 0x8000
	REFUSED Q_DESC, Q_AVAIL, Q_USED, 0xFFFF
	/* Rings outside RAM, across its end, on MMIO, misaligned. */
	REFUSED 0xFFFFFFFFFFFFF000, Q_AVAIL, Q_USED, QSIZE
	REFUSED 0x8000000000000000, Q_AVAIL, Q_USED, QSIZE
	REFUSED (RAM_END - 128), Q_AVAIL, Q_USED, QSIZE
	REFUSED Q_DESC, (RAM_END - 2), Q_USED, QSIZE
	REFUSED Q_DESC, Q_AVAIL, (RAM_END - 64), QSIZE
	REFUSED BAR_BASE, Q_AVAIL, Q_USED, QSIZE
	REFUSED Q_DESC, PL_LAPIC, Q_USED, QSIZE
	REFUSED (Q_DESC + 8), Q_AVAIL, Q_USED, QSIZE
	REFUSED Q_DESC, (Q_AVAIL + 1), Q_USED, QSIZE
	REFUSED Q_DESC, Q_AVAIL, (Q_USED + 2), QSIZE
	/* The high half alone moves the ring past 4 GiB; 8 bytes there: no. */
	NEGOTIATE
	RINGS Q_DESC, Q_AVAIL, Q_USED, QSIZE
	W 4, (C_QDESC + 4), 1
	X 4, (C_QDESC + 4), 0xFFFFFFFF, 1
	W 8, (C_QDESC + 4), 0
	X 4, (C_QDESC + 4), 0xFFFFFFFF, 1
	W 2, C_QENABLE, 1
	X 2, C_QENABLE, 0xFFFF, 0
	/* An enabled queue, then DRIVER_OK: its setup is final. */
	NEGOTIATE
	RINGS Q_DESC, Q_AVAIL, Q_USED, QSIZE
	W 2, C_QENABLE, 1
	X 2, C_QENABLE, 0xFFFF, 1
	W 2, C_QSIZE, 8
	X 2, C_QSIZE, 0xFFFF, QSIZE
	W 1, C_STATUS, (S_SETUP | S_DRIVER_OK)
	X 1, C_STATUS, (S_DRIVER_OK | S_NEEDS_RESET), S_DRIVER_OK
	W 8, C_QDESC, 0xFFFFFFFFFFFFF000
	X 4, C_QDESC, 0xFFFFFFFF, Q_DESC
	W 2, C_QENABLE, 0
	X 2, C_QENABLE, 0xFFFF, 1
	W 1, C_STATUS, 0
	X 2, C_QENABLE, 0xFFFF, 0
	/* Vectors the table lacks read NO_VECTOR. */
	W 2, C_MSIX, NVECTORS
	X 2, C_MSIX, 0xFFFF, 0xFFFF
	W 2, C_MSIX, 0x8000
	X 2, C_MSIX, 0xFFFF, 0xFFFF
	W 2, C_MSIX, 1
	X 2, C_MSIX, 0xFFFF, 1
	W 2, C_QMSIX, 0x7FFF
	X 2, C_QMSIX, 0xFFFF, 0xFFFF
	/* Widths the fields do not have: dropped. */
	W 2, C_STATUS, 0x0F0F
	X 1, C_STATUS, 0xFF, 0
	W 4, C_QSELECT, 0x00100001
	X 2, C_QSELECT, 0xFFFF, 0
	W 1, C_QSIZE, 1
	X 2, C_QSIZE, 0xFFFF, QMAX
	W 2, C_NUMQ, 7
	X 2, C_NUMQ, 0xFFFF, 1
	W 1, C_GEN, 9
	W 8, C_DFSELECT, 0xFFFFFFFFFFFFFFFF
	X 4, C_DFSELECT, 0xFFFFFFFF, 0
	/* A reset between setup and enable. */
	NEGOTIATE
	RINGS Q_DESC, Q_AVAIL, Q_USED, QSIZE
	W 1, C_STATUS, 0
	W 2, C_QENABLE, 1
	X 2, C_QENABLE, 0xFFFF, 0
	.byte 0

/* The window's script ops: as W and X, through configuration space. */
.macro WW width, off, val
	.byte 3, \width
	.word \off
	.long 0
	.quad \val
.endm
.macro WX width, off, mask, val
	.byte 4, \width
	.word \off
	.long \mask
	.quad \val
.endm

/* A driver's setup of queue 0 through the window, then DRIVER_OK. */
	.balign 16
script_window:
	WW 1, C_STATUS, 0
	WW 1, C_STATUS, S_ACK
	WW 1, C_STATUS, (S_ACK | S_DRIVER)
	WW 4, C_GFSELECT, 0
	WW 4, C_GF, FEAT_INDIRECT
	WW 4, C_GFSELECT, 1
	WW 4, C_GF, FEAT_VERSION_1
	WW 1, C_STATUS, S_SETUP
	WX 1, C_STATUS, S_FEATURES_OK, S_FEATURES_OK
	WW 2, C_QSELECT, 0
	WW 2, C_QSIZE, QSIZE
	WW 4, C_QDESC, Q_DESC
	WW 4, (C_QDESC + 4), 0
	WW 4, C_QAVAIL, Q_AVAIL
	WW 4, (C_QAVAIL + 4), 0
	WW 4, C_QUSED, Q_USED
	WW 4, (C_QUSED + 4), 0
	WW 2, C_QMSIX, 0
	WW 2, C_QENABLE, 1
	WX 2, C_QENABLE, 0xFFFF, 1
	WW 2, C_MSIX, 1
	WW 1, C_STATUS, (S_SETUP | S_DRIVER_OK)
	WX 1, C_STATUS, 0xFF, (S_SETUP | S_DRIVER_OK)
	WX 1, ISR, 0, 0
	WX 4, DEVCFG, 0, 0
	.byte 0

/* Window settings that must do nothing: BAR, offset, length. */
	.balign 4
bad_windows:
	.long 5, C_STATUS, 1		/* another BAR */
	.long 0xFF, C_STATUS, 1
	.long 0, C_STATUS, 0		/* lengths it lacks */
	.long 0, C_STATUS, 3
	.long 0, (C_STATUS - 4), 8
	.long 0, (C_STATUS - 1), 2	/* misaligned */
	.long 0, 0x7FFE, 4		/* past BAR0's end */
	.long 0, 0x8000, 1
	.long 0, 0xFFFFFFFC, 4
	.long 0, C_STATUS, 2		/* a width the status lacks */
bad_windows_end:

/* Three descriptors of a valid read of sector 0 (indirect tables). */
.macro READ_TABLE
	D H_READ0, 16, F_NEXT, 1
	D DATA, 512, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
.endm
/* Descriptors in the ring, in IND, and the expected status and length. */
.macro CASE ndesc, nind, status, len
	.byte \ndesc, \nind, \status, 0
	.long \len
.endm

	.balign 8
cases:
	/* A header outside RAM, and one whose address wraps. */
	CASE 2, 0, UNTOUCHED, 0
	D (1 << 44), 16, F_NEXT, 1
	D STATUS, 1, F_WRITE, 0
	CASE 2, 0, UNTOUCHED, 0
	D 0xFFFFFFFFFFFFFFF0, 0x20, F_NEXT, 1
	D STATUS, 1, F_WRITE, 0
	/* Data across RAM's end, of 4 GiB - 1, on a BAR. */
	CASE 3, 0, UNTOUCHED, 0
	D H_READ0, 16, F_NEXT, 1
	D (RAM_END - 256), 512, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
	CASE 3, 0, UNTOUCHED, 0
	D H_READ0, 16, F_NEXT, 1
	D DATA, 0xFFFFFFFF, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
	CASE 3, 0, UNTOUCHED, 0
	D H_READ0, 16, F_NEXT, 1
	D BAR_BASE, 512, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
	/* Loops of two and of one. */
	CASE 2, 0, UNTOUCHED, 0
	D DATA, 512, (F_WRITE | F_NEXT), 1
	D STATUS, 1, (F_WRITE | F_NEXT), 0
	CASE 1, 0, UNTOUCHED, 0
	D STATUS, 1, (F_WRITE | F_NEXT), 0
	/* Longer than the queue: every descriptor, the last back to 0. */
	CASE QSIZE, 0, UNTOUCHED, 0
	.set i, 1
	.rept QSIZE - 1
	D STATUS, 1, (F_WRITE | F_NEXT), i
	.set i, i + 1
	.endr
	D STATUS, 1, (F_WRITE | F_NEXT), 0
	/* A next past the queue. */
	CASE 2, 0, UNTOUCHED, 0
	D H_READ0, 16, F_NEXT, QSIZE
	D STATUS, 1, F_WRITE, 0
	CASE 1, 0, UNTOUCHED, 0
	D H_READ0, 16, F_NEXT, 0xFFFF
	/* Indirect tables outside RAM, across its end, empty, of 17 bytes. */
	CASE 1, 0, UNTOUCHED, 0
	D (1 << 40), 48, F_INDIRECT, 0
	CASE 1, 0, UNTOUCHED, 0
	D (RAM_END - 32), 64, F_INDIRECT, 0
	CASE 1, 3, UNTOUCHED, 0
	D IND, 0, F_INDIRECT, 0
	READ_TABLE
	CASE 1, 3, UNTOUCHED, 0
	D IND, 17, F_INDIRECT, 0
	READ_TABLE
	CASE 1, 0, UNTOUCHED, 0
	D IND, 0xFFFFFFF0, F_INDIRECT, 0
	/* An indirect descriptor with NEXT, and one inside a table. */
	CASE 2, 3, UNTOUCHED, 0
	D IND, 48, (F_INDIRECT | F_NEXT), 1
	D STATUS, 1, F_WRITE, 0
	READ_TABLE
	CASE 1, 2, UNTOUCHED, 0
	D IND, 32, F_INDIRECT, 0
	D (IND + 0x100), 48, F_INDIRECT, 0
	D STATUS, 1, F_WRITE, 0
	/* A loop inside a table, a next past its end. */
	CASE 1, 2, UNTOUCHED, 0
	D IND, 32, F_INDIRECT, 0
	D DATA, 512, (F_WRITE | F_NEXT), 1
	D STATUS, 1, (F_WRITE | F_NEXT), 0
	CASE 1, 2, UNTOUCHED, 0
	D IND, 32, F_INDIRECT, 0
	D H_READ0, 16, F_NEXT, 5
	D STATUS, 1, F_WRITE, 0
	/* Readable after writable; zero lengths only; nothing writable. */
	CASE 3, 0, UNTOUCHED, 0
	D H_READ0, 16, F_NEXT, 1
	D DATA, 512, (F_WRITE | F_NEXT), 2
	D STATUS, 1, 0, 0
	CASE 3, 0, UNTOUCHED, 0
	D H_READ0, 0, F_NEXT, 1
	D DATA, 0, (F_WRITE | F_NEXT), 2
	D STATUS, 0, F_WRITE, 0
	CASE 1, 0, UNTOUCHED, 0
	D H_READ0, 16, 0, 0
	/* Completed with an error: a write-only header, a short one. */
	CASE 2, 0, BLK_IOERR, 1
	D H_READ0, 16, (F_WRITE | F_NEXT), 1
	D STATUS, 1, F_WRITE, 0
	CASE 2, 0, BLK_IOERR, 1
	D H_READ0, 8, F_NEXT, 1
	D STATUS, 1, F_WRITE, 0
	/* Not whole sectors; past the disk's end both ways; no such type. */
	CASE 3, 0, BLK_IOERR, 1
	D H_READ0, 16, F_NEXT, 1
	D DATA, 100, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
	CASE 3, 0, BLK_IOERR, 1
	D H_READ_PAST, 16, F_NEXT, 1
	D DATA, 512, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
	CASE 3, 0, BLK_IOERR, 1
	D H_WRITE_PAST, 16, F_NEXT, 1
	D DATA, 512, F_NEXT, 2
	D STATUS, 1, F_WRITE, 0
	CASE 2, 0, BLK_UNSUPP, 1
	D H_BADTYPE, 16, F_NEXT, 1
	D STATUS, 1, F_WRITE, 0
	/* 64 MiB: over what evmm serves in one request (or the disk). */
	CASE 3, 0, BLK_IOERR, 1
	D H_READ0, 16, F_NEXT, 1
	D BIG_BUF, HUGE_SEG, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
	/* Served: get-id, flush, and reads cut oddly. */
	CASE 3, 0, 0, 21
	D H_GETID, 16, F_NEXT, 1
	D DATA, 20, (F_WRITE | F_NEXT), 2
	D STATUS, 1, F_WRITE, 0
	CASE 2, 0, 0, 1
	D H_FLUSH, 16, F_NEXT, 1
	D STATUS, 1, F_WRITE, 0
	CASE 4, 0, 0, 513
	D H_READ0, 7, F_NEXT, 1
	D (H_READ0 + 7), 9, F_NEXT, 2
	D DATA, 512, (F_WRITE | F_NEXT), 3
	D STATUS, 1, F_WRITE, 0
	CASE 2, 0, ANY, 513
	D H_READ0, 16, F_NEXT, 1
	D DATA, 513, F_WRITE, 0
	CASE 5, 0, 0, 513
	D H_READ0, 16, F_NEXT, 1
	D DATA, 0, F_NEXT, 2
	D DATA, 512, (F_WRITE | F_NEXT), 3
	D DATA, 0, (F_WRITE | F_NEXT), 4
	D STATUS, 1, F_WRITE, 0
	CASE 1, 3, 0, 513
	D IND, 48, F_INDIRECT, 0
	READ_TABLE
	.byte 0

/* What the generated indirect cases expect: used with 0, untouched. */
table_case:
	CASE 1, 0, UNTOUCHED, 0

/* type, reserved, sector: in the order of the H_* addresses. */
	.balign 8
headers:
	.long 0, 0
	.quad 0				/* H_READ0 */
	.long 0, 0
	.quad 1				/* H_READ1 */
	.long 1, 0
	.quad 0				/* H_WRITE0 */
	.long 1, 0
	.quad 1				/* H_WRITE1 */
	.long 0, 0
	.quad 0xFFFFFFFFFFFFFF00	/* H_READ_PAST */
	.long 1, 0
	.quad 0xFFFFFFFFFFFFFF00	/* H_WRITE_PAST */
	.long 0xDEAD, 0
	.quad 0				/* H_BADTYPE */
	.long 8, 0
	.quad 0				/* H_GETID */
	.long 4, 0
	.quad 0				/* H_FLUSH */

magic:		.ascii "HOSTVIRT-MAGIC-"
wrote:		.ascii "HOSTVIRT-WROTE-1"
msg_start:	.asciz "\nHOSTVIRT: start\n"
msg_bus:	.asciz "HOSTVIRT: bus functions="
msg_bus_disks:	.asciz " virtio-blk="
msg_pass:	.asciz "HOSTVIRT: pass "
msg_config:	.asciz " config"
msg_bars:	.asciz " bars"
msg_registers:	.asciz " registers"
msg_queues:	.asciz " queues"
msg_at:		.asciz " at tick "
msg_check:	.asciz "HOSTVIRT: check slot "
msg_ro:		.asciz " ro="
msg_passed:	.asciz " PASS\n"
msg_failed:	.asciz " FAIL\n"
msg_done:	.asciz "HOSTVIRT: done checks="
msg_failures:	.asciz " failures="
msg_tick:	.asciz "HOSTVIRT: tick "
msg_fail:	.asciz "HOSTVIRT: FAIL "
msg_slot:	.asciz " slot "
msg_in_pass:	.asciz " pass "
msg_exception:	.asciz "HOSTVIRT: FAIL exception "
msg_ram:	.asciz "usable RAM does not end at 256 MiB"
msg_enum:	.asciz "ports and ECAM disagree at slot "
msg_sizing:	.asciz "BAR0 sizing read "
msg_script:	.asciz "register script entry "
msg_setup:	.asciz "queue setup refused"
msg_request:	.asciz "request (0 used, 1 reset, 2 timeout, 3 wrong): "
msg_magic:	.asciz "sector 0 without the magic of disk "
msg_case:	.asciz "case "
msg_break:	.asciz "ring not broken (0 used, 2 timeout): "
msg_edge:	.asciz "rings at RAM's end refused"
msg_bell:	.asciz "kick after BAR0 moved (1 reset, 2 timeout): "
msg_random:	.asciz "random round timed out: "
msg_readback:	.asciz "sector 1 read back differs"
msg_window:	.asciz "the window took the bad setting at byte "
msg_used:	.asciz "HOSTVIRT: used idx "
msg_id:		.asciz " id "
msg_len:	.asciz " len "
msg_status:	.asciz " status "

	.balign 4
pass:		.long 0
ndisks:		.long 0
disk_slots:	.fill MAX_DISKS, 4, 0
empty_slot:	.long 0
msix_cap:	.long 0
win_cap:	.long 0
feat0:		.long 0
devfeat:	.long 0
case_no:	.long 0
checks:		.long 0
failures:	.long 0
broken:		.long 0
avail_shadow:	.word 0
sane_vectors:	.byte 1
	.balign 8
qd:		.quad Q_DESC
qa:		.quad Q_AVAIL
qu:		.quad Q_USED
ticks:		.quad 0

	.balign 16
idt_desc:	.word 256 * 16 - 1
		.quad 0
	.balign 16
numbuf:		.fill 32, 1, 0
idt:		.fill 256 * 16, 1, 0
stack:		.fill 8192, 1, 0
stack_top:
