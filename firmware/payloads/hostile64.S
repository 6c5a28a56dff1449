/*
 * A hostile guest for the real evmm binary: a fake bzImage (a setup header
 * evmm's loader accepts, then 64-bit code at load address + 0x200, which
 * evmm's boot enters in long mode with the low 4 GiB identity-mapped).
 *
 * For HOSTILE_PASSES passes it makes HOSTILE_ROUNDS xorshift64 accesses
 * of every size, single and string, both ways, to every port range and
 * the MMIO window evmm decodes, 4 to 8 bytes past each end, then storms
 * every CPU and RAM slot (boot CPUs and out-of-range selectors included)
 * with ejects, _OST writes and commands. It never writes a byte that
 * powers off or resets (PM), so evmm must stay up. After each pass it
 * prints "HOSTILE: pass N" on COM1 (the UART reset first), then
 * "HOSTILE: done", then halts with a LAPIC timer waking it to print
 * "HOSTILE: tick N" once a second: a guest that still runs, at no cost.
 * A fault reboots the VM: "HOSTILE: start" once means none happened.
 * With the command line "calm" it makes no passes: a guest that boots in
 * milliseconds and stays idle, for tests that need no guest's help.
 *
 * Only PC-relative references: the image is not linked.
 */
#include "payload.h"

#define HOSTILE_PASSES	8
#define HOSTILE_ROUNDS	2048
#define HOSTILE_TICK_NS	1000000000	/* LAPIC timer counts at 1 GHz in KVM */

#define CPU_HP		0xCD8		/* vmm/layout.h */
#define CPU_HP_LEN	12
#define MEM_HP		0xA00
#define MEM_HP_LEN	24
#define PM_LEN		3
#define COM1_LEN	8
#define DEV_MMIO	0xFE000000	/* the GED's 4 KiB window */
#define DEV_MMIO_LEN	0x1000
#define STRADDLE	8		/* bytes tried beyond each end */

/* LAPIC register offsets */
#define LAPIC_EOI	0xB0
#define LAPIC_SVR	0xF0
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT0	0x350
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_DCR	0x3E0
#define TICK_VECTOR	0x20
#define BOOT_CS		0x10		/* vmm/boot.c's 64-bit code segment */

	.text
	.globl payload_start
payload_start:

/* --- the real-mode part: only the setup header at 0x1F1 -------------- */
	.org 0x1F1
	.byte 1				/* setup_sects: 2 sectors before the kernel */
	.word 0				/* root_flags */
	.long 0				/* syssize */
	.word 0, 0, 0			/* ram_size, vid_mode, root_dev */
	.word 0xAA55			/* boot_flag */
	.byte 0xEB, hdr_end - payload_start - 0x202	/* jump: gives the header's length */
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
	.org 0x400			/* (setup_sects + 1) * 512 */

/* --- loaded at 1 MiB; the 64-bit entry point is at + 0x200 ------------- */
kernel:
	.org 0x400 + 0x200
	.code64
entry:
	cli
	cld
	lea stack_top(%rip), %rsp
	mov 0x228(%rsi), %ebx		/* boot_params.hdr.cmd_line_ptr */
	movabs $0x9E3779B97F4A7C15, %r15	/* xorshift64 state */
	call uart_reset
	lea msg_start(%rip), %rsi
	call puts
	cmpl $0x6D6C6163, (%rbx)	/* "calm": no passes */
	je calm
	xor %r14d, %r14d		/* pass */
pass:
	mov $HOSTILE_ROUNDS, %r13d
1:	call round
	dec %r13d
	jnz 1b
	call storm_cpus
	call storm_mem
	inc %r14d
	call uart_reset
	lea msg_pass(%rip), %rsi
	call puts
	mov %r14, %rax
	call putdec
	cmp $HOSTILE_PASSES, %r14d
	jb pass
calm:
	lea msg_done(%rip), %rsi
	call puts
	call ticks			/* never returns */

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

/* buf's 64 bytes from the generator. */
fill_buf:
	lea buf(%rip), %rdi
	mov $8, %ecx
1:	call rnd
	stosq
	dec %ecx
	jnz 1b
	ret

/* One access: bits 0-2 pick the target, the rest the place, op and value. */
round:
	call fill_buf
	call rnd
	mov %rax, %rbx
	mov %ebx, %ecx
	and $7, %ecx
	/*
	 * Not PM (4) or COM1 (5): garbage there raises the guest's IRQs while
	 * it runs with IF=0, and that wedges the nested host's QEMU within
	 * seconds (tools/nested-host); kvm_devices hammers both instead.
	 */
	cmp $4, %ecx
	jb 5f
	cmp $6, %ecx
	jae 5f
	and $3, %ecx
5:	cmp $6, %ecx
	jae mmio_round
	/* Ports: base - STRADDLE + (bits 8-23 scaled to len + 2 * STRADDLE). */
	lea port_ranges(%rip), %rdx
	movzwl (%rdx,%rcx,4), %esi	/* base */
	movzwl 2(%rdx,%rcx,4), %edi	/* len */
	add $2 * STRADDLE, %edi
	mov %rbx, %rax
	shr $8, %rax
	movzwl %ax, %eax
	imul %edi, %eax
	shr $16, %eax
	lea -STRADDLE(%rsi,%rax), %edx	/* the port */
	/* Op: bits 24-27 scaled to 0..11; string count: bits 28-30, + 1. */
	mov %ebx, %eax
	shr $24, %eax
	and $15, %eax
	imul $12, %eax
	shr $4, %eax
	mov %ebx, %ecx
	shr $28, %ecx
	and $7, %ecx
	inc %ecx
	/* PM: no string writes, no SLP_EN, never the reset value 1. */
	cmp $PL_PM_BASE - STRADDLE, %edx
	jb 2f
	cmp $PL_PM_BASE + PM_LEN + STRADDLE, %edx
	jae 2f
	and $~0x21, %rbx
	cmp $9, %eax
	jb 2f
	sub $3, %eax			/* outs -> ins */
2:	lea buf(%rip), %rsi
	lea buf + 64(%rip), %rdi
	lea port_ops(%rip), %r8
	movslq (%r8,%rax,4), %rax
	add %r8, %rax
	mov %rbx, %r9
	shr $32, %r9			/* the value */
	xchg %rax, %r9
	jmp *%r9

pio_inb:	in %dx, %al
		ret
pio_inw:	in %dx, %ax
		ret
pio_inl:	in %dx, %eax
		ret
pio_outb:	mov %bl, %al		/* the filtered low byte */
		out %al, %dx
		ret
pio_outw:	out %ax, %dx
		ret
pio_outl:	out %eax, %dx
		ret
pio_insb:	rep insb
		ret
pio_insw:	rep insw
		ret
pio_insl:	rep insl
		ret
pio_outsb:	rep outsb
		ret
pio_outsw:	rep outsw
		ret
pio_outsl:	rep outsl
		ret

/* MMIO: DEV_MMIO - STRADDLE + (bits 8-23 scaled), ops by bits 24-27. */
mmio_round:
	mov %rbx, %rax
	shr $8, %rax
	movzwl %ax, %eax
	imul $DEV_MMIO_LEN + 2 * STRADDLE, %eax
	shr $16, %eax
	lea DEV_MMIO - STRADDLE(%rax), %edx
	mov %ebx, %eax
	shr $24, %eax
	and $15, %eax
	mov %ebx, %ecx
	shr $28, %ecx
	and $7, %ecx
	inc %ecx
	lea mmio_ops(%rip), %r8
	movslq (%r8,%rax,4), %r9
	add %r8, %r9
	mov %rdx, %rdi			/* stos/movs destination */
	lea buf(%rip), %rsi
	mov %rbx, %rax
	jmp *%r9

mmio_ldb:	movb (%rdx), %al
		ret
mmio_ldw:	movw (%rdx), %ax
		ret
mmio_ldl:	movl (%rdx), %eax
		ret
mmio_ldq:	movq (%rdx), %rax
		ret
mmio_stb:	movb %al, (%rdx)
		ret
mmio_stw:	movw %ax, (%rdx)
		ret
mmio_stl:	movl %eax, (%rdx)
		ret
mmio_stq:	movq %rax, (%rdx)
		ret
mmio_stosb:	rep stosb
		ret
mmio_stosw:	rep stosw
		ret
mmio_stosl:	rep stosl
		ret
mmio_stosq:	rep stosq
		ret
mmio_movsb:	rep movsb		/* RAM to MMIO */
		ret
mmio_movsq:	rep movsq
		ret
mmio_rdsb:	mov %rdx, %rsi		/* MMIO to RAM */
		lea buf(%rip), %rdi
		rep movsb
		ret
mmio_rdsl:	mov %rdx, %rsi
		lea buf(%rip), %rdi
		rep movsl
		ret

/*
 * Every CPU selector up to 3 past any max evmm accepts here, and
 * out-of-range ones: eject, clear-and-eject, flags with a command,
 * random _OST event and status, ARCH_ID and NEXT_EVENT reads.
 */
storm_cpus:
	xor %ebp, %ebp
1:	lea selectors(%rip), %rax
	mov (%rax,%rbp,4), %eax
	mov $CPU_HP, %edx
	out %eax, %dx
	mov $CPU_HP + 4, %edx
	mov $0x08, %al			/* eject */
	out %al, %dx
	mov $0x0E, %al			/* clear insert, remove; eject */
	out %al, %dx
	mov $0x0108, %ax		/* eject + command OST event */
	out %ax, %dx
	call rnd
	mov $CPU_HP + 8, %edx
	out %eax, %dx			/* _OST event */
	mov $CPU_HP + 5, %edx
	mov $2, %al
	out %al, %dx
	call rnd
	mov $CPU_HP + 8, %edx
	out %eax, %dx			/* _OST status */
	mov $CPU_HP + 5, %edx
	mov $3, %al
	out %al, %dx
	mov $CPU_HP + 8, %edx
	in %dx, %eax			/* ARCH_ID */
	mov $CPU_HP + 5, %edx
	xor %al, %al
	out %al, %dx
	mov $CPU_HP + 8, %edx
	in %dx, %eax			/* NEXT_EVENT */
	mov $CPU_HP + 4, %edx
	in %dx, %al
	mov $CPU_HP + 5, %edx
	mov $0xFF, %al			/* no such command */
	out %al, %dx
	inc %ebp
	cmp $NSELECTORS, %ebp
	jb 1b
	ret

/* Every RAM slot (evmm has at most 32) and out-of-range ones, alike. */
storm_mem:
	xor %ebp, %ebp
1:	lea selectors(%rip), %rax
	mov (%rax,%rbp,4), %eax
	mov $MEM_HP, %edx
	out %eax, %dx
	mov $MEM_HP + 0x14, %edx
	mov $0x08, %al
	out %al, %dx
	mov $0x0E, %al
	out %al, %dx
	call rnd
	mov $MEM_HP + 0x04, %edx
	out %eax, %dx			/* _OST event */
	call rnd
	mov $MEM_HP + 0x08, %edx
	out %eax, %dx			/* _OST status */
	mov $MEM_HP, %edx
2:	in %dx, %eax			/* base, size, PXM, flags */
	add $4, %edx
	cmp $MEM_HP + MEM_HP_LEN, %edx
	jb 2b
	inc %ebp
	cmp $NSELECTORS, %ebp
	jb 1b
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

/* %rax in decimal, then a newline. */
putdec:
	lea numbuf + 24(%rip), %rsi
	movb $0, (%rsi)
	dec %rsi
	movb $'\n', (%rsi)
	mov $10, %ecx
1:	xor %edx, %edx
	div %rcx
	add $'0', %dl
	dec %rsi
	mov %dl, (%rsi)
	test %rax, %rax
	jnz 1b
	jmp puts

/* A periodic LAPIC timer on TICK_VECTOR; hlt between ticks. */
ticks:
	lea idt(%rip), %rdi
	lea tick_isr(%rip), %rax
	add $TICK_VECTOR * 16, %rdi
	mov %ax, (%rdi)			/* offset 15:0 */
	movw $BOOT_CS, 2(%rdi)
	movw $0x8E00, 4(%rdi)		/* present, interrupt gate */
	shr $16, %rax
	mov %ax, 6(%rdi)		/* offset 31:16 */
	shr $16, %rax
	mov %eax, 8(%rdi)		/* offset 63:32 */
	movl $0, 12(%rdi)
	lea idt(%rip), %rax
	mov %rax, idt_desc + 2(%rip)
	lidt idt_desc(%rip)
	/* Only the timer: the 8259 (unprogrammed, vector base 0) masked. */
	mov $0xFF, %al
	out %al, $0x21
	out %al, $0xA1
	mov $PL_LAPIC, %edx
	movl $0x10000, LAPIC_LVT0(%rdx)	/* masked */
	orl $0x100, LAPIC_SVR(%rdx)	/* software enable */
	movl $0xB, LAPIC_TIMER_DCR(%rdx)	/* divide by 1 */
	movl $0x20000 | TICK_VECTOR, LAPIC_LVT_TIMER(%rdx)	/* periodic */
	movl $HOSTILE_TICK_NS, LAPIC_TIMER_ICR(%rdx)
	xor %r14d, %r14d
1:	sti
	hlt
	cli
	cmpb $0, ticked(%rip)
	je 1b
	movb $0, ticked(%rip)
	inc %r14
	lea msg_tick(%rip), %rsi
	call puts
	mov %r14, %rax
	call putdec
	jmp 1b

tick_isr:
	push %rdx
	movb $1, ticked(%rip)
	mov $PL_LAPIC, %edx
	movl $0, LAPIC_EOI(%rdx)
	pop %rdx
	iretq

/* Relative jump tables: the image has no relocations. */
	.balign 4
port_ops:
	.long pio_inb - port_ops, pio_inw - port_ops, pio_inl - port_ops
	.long pio_outb - port_ops, pio_outw - port_ops, pio_outl - port_ops
	.long pio_insb - port_ops, pio_insw - port_ops, pio_insl - port_ops
	.long pio_outsb - port_ops, pio_outsw - port_ops, pio_outsl - port_ops
mmio_ops:
	.long mmio_ldb - mmio_ops, mmio_ldw - mmio_ops, mmio_ldl - mmio_ops
	.long mmio_ldq - mmio_ops, mmio_stb - mmio_ops, mmio_stw - mmio_ops
	.long mmio_stl - mmio_ops, mmio_stq - mmio_ops, mmio_stosb - mmio_ops
	.long mmio_stosw - mmio_ops, mmio_stosl - mmio_ops
	.long mmio_stosq - mmio_ops, mmio_movsb - mmio_ops
	.long mmio_movsq - mmio_ops, mmio_rdsb - mmio_ops, mmio_rdsl - mmio_ops
/* Base and length of each port target, by bits 0-2 (6 and 7: MMIO). */
port_ranges:
	.word CPU_HP, CPU_HP_LEN, CPU_HP, CPU_HP_LEN
	.word MEM_HP, MEM_HP_LEN, MEM_HP, MEM_HP_LEN
	.word PL_PM_BASE, PM_LEN, PL_COM1, COM1_LEN
selectors:
	.long 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 31, 32, 33, 254, 255
	.long 256, 0xFFFF, 0x80000000, 0xFFFFFFFF
	.set NSELECTORS, (. - selectors) / 4

msg_start:	.asciz "\nHOSTILE: start\n"
msg_pass:	.asciz "HOSTILE: pass "
msg_done:	.asciz "HOSTILE: done\n"
msg_tick:	.asciz "HOSTILE: tick "
ticked:		.byte 0

	.balign 16
idt_desc:	.word 256 * 16 - 1
		.quad 0
	.balign 16
numbuf:		.fill 32, 1, 0
buf:		.fill 128, 1, 0
idt:		.fill 256 * 16, 1, 0
stack:		.fill 4096, 1, 0
stack_top:
