/*
 * AML byte-code builder (ACPI 6.5, chapter 20).
 *
 * Terms are built as a tree of nodes, then encoded once:
 *
 *	struct aml *dev = aml_device("COM1");
 *	aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0501")));
 *	aml_append(scope, dev);
 *
 * Every node belongs to the arena of the struct aml_ctx it was made in
 * (aml_ctx_new), and aml_ctx_free releases them all. There is no per-node
 * free and no error to check per call: allocation failure aborts (only
 * possible at start-up, before the guest runs).
 *
 * Names are NameStrings as in ASL: "FOO", "_SB.CPUS", "\\_SB.GED", "^PRES".
 * Segments shorter than four characters are padded with '_'.
 *
 * A malformed argument (bad name, EISA ID, Arg7, IRQ 16, a node appended
 * twice) is a bug in evmm, not in the guest: it aborts with a message.
 */
#ifndef EVMM_AML_H
#define EVMM_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml;
struct aml_ctx;

struct aml_ctx *aml_ctx_new(void);
void aml_ctx_free(struct aml_ctx *ctx);

/* A bare list of terms (no opcode of its own): the body of a table. */
struct aml *aml_list(struct aml_ctx *ctx);
/* Append child terms to a container (list, scope, device, method, if, ...). */
void aml_append(struct aml *parent, struct aml *child);
/* Encoded size and bytes of a node (children included). */
size_t aml_size(const struct aml *node);
/* Writes aml_size(node) bytes to out. */
void aml_encode(const struct aml *node, uint8_t *out);

/* Data objects (§20.2.3) */
struct aml *aml_int(struct aml_ctx *ctx, uint64_t value);	/* Zero/One/Ones/Byte/Word/DWord/QWord */
struct aml *aml_dword(struct aml_ctx *ctx, uint32_t value);	/* always DWordPrefix */
struct aml *aml_string(struct aml_ctx *ctx, const char *s);
struct aml *aml_eisaid(struct aml_ctx *ctx, const char *id);	/* "PNP0501" → DWord */
struct aml *aml_buffer(struct aml_ctx *ctx, const uint8_t *data, size_t len);
struct aml *aml_package(struct aml_ctx *ctx);	/* aml_append the elements */
struct aml *aml_varpackage(struct aml_ctx *ctx, struct aml *count);

/* Names, scopes, devices (§20.2.5) */
struct aml *aml_name(struct aml_ctx *ctx, const char *name);	/* a reference */
struct aml *aml_name_decl(struct aml_ctx *ctx, const char *name, struct aml *value);
struct aml *aml_scope(struct aml_ctx *ctx, const char *name);
struct aml *aml_device(struct aml_ctx *ctx, const char *name);
struct aml *aml_method(struct aml_ctx *ctx, const char *name, unsigned nargs,
		       int serialized);
struct aml *aml_mutex(struct aml_ctx *ctx, const char *name, unsigned sync_level);

enum aml_region_space {
	AML_SYSTEM_MEMORY = 0,
	AML_SYSTEM_IO = 1,
};
struct aml *aml_operation_region(struct aml_ctx *ctx, const char *name,
				 enum aml_region_space space,
				 uint64_t offset, uint64_t len);
enum aml_access { AML_ANY_ACC = 0, AML_BYTE_ACC = 1, AML_WORD_ACC = 2,
		  AML_DWORD_ACC = 3, AML_QWORD_ACC = 4 };
enum aml_update { AML_PRESERVE = 0, AML_WRITE_AS_ONES = 1,
		  AML_WRITE_AS_ZEROS = 2 };
/* Field(region, access, NoLock, update) { aml_append named/reserved units } */
struct aml *aml_field(struct aml_ctx *ctx, const char *region,
		      enum aml_access access, enum aml_update update);
struct aml *aml_named_field(struct aml_ctx *ctx, const char *name, unsigned bits);
struct aml *aml_reserved_field(struct aml_ctx *ctx, unsigned bits);
/* Offset(n): a reserved gap up to byte n, sized when appended to the field. */
struct aml *aml_field_offset(struct aml_ctx *ctx, unsigned byte_offset);

/* Statements and expressions (§20.2.5.3, §20.2.5.4). A NULL target means none. */
struct aml *aml_return(struct aml_ctx *ctx, struct aml *value);
struct aml *aml_if(struct aml_ctx *ctx, struct aml *predicate);
struct aml *aml_else(struct aml_ctx *ctx);	/* append right after its aml_if */
struct aml *aml_while(struct aml_ctx *ctx, struct aml *predicate);
struct aml *aml_break(struct aml_ctx *ctx);
struct aml *aml_store(struct aml_ctx *ctx, struct aml *value, struct aml *target);
struct aml *aml_add(struct aml_ctx *ctx, struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_subtract(struct aml_ctx *ctx, struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_and(struct aml_ctx *ctx, struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_or(struct aml_ctx *ctx, struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_shiftleft(struct aml_ctx *ctx, struct aml *a, struct aml *count);
struct aml *aml_shiftright(struct aml_ctx *ctx, struct aml *a, struct aml *count);
struct aml *aml_increment(struct aml_ctx *ctx, struct aml *target);
struct aml *aml_decrement(struct aml_ctx *ctx, struct aml *target);
struct aml *aml_lequal(struct aml_ctx *ctx, struct aml *a, struct aml *b);
struct aml *aml_lless(struct aml_ctx *ctx, struct aml *a, struct aml *b);
struct aml *aml_lgreater(struct aml_ctx *ctx, struct aml *a, struct aml *b);
struct aml *aml_lnot(struct aml_ctx *ctx, struct aml *a);
struct aml *aml_land(struct aml_ctx *ctx, struct aml *a, struct aml *b);
struct aml *aml_lor(struct aml_ctx *ctx, struct aml *a, struct aml *b);
struct aml *aml_notify(struct aml_ctx *ctx, struct aml *object, struct aml *value);
struct aml *aml_acquire(struct aml_ctx *ctx, struct aml *mutex, uint16_t timeout);
struct aml *aml_release(struct aml_ctx *ctx, struct aml *mutex);
struct aml *aml_sleep(struct aml_ctx *ctx, uint64_t msec);
/* Call a method: aml_call(ctx, "CSTA", 1, arg0) */
struct aml *aml_call(struct aml_ctx *ctx, const char *method, unsigned nargs, ...);
struct aml *aml_arg(struct aml_ctx *ctx, unsigned n);	/* Arg0..Arg6 */
struct aml *aml_local(struct aml_ctx *ctx, unsigned n);	/* Local0..Local7 */
struct aml *aml_create_dword_field(struct aml_ctx *ctx, struct aml *buffer,
				   struct aml *index, const char *name);
struct aml *aml_create_qword_field(struct aml_ctx *ctx, struct aml *buffer,
				   struct aml *index, const char *name);
struct aml *aml_concatenate(struct aml_ctx *ctx, struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_to_integer(struct aml_ctx *ctx, struct aml *a, struct aml *target);
struct aml *aml_index(struct aml_ctx *ctx, struct aml *obj, struct aml *idx);
struct aml *aml_deref(struct aml_ctx *ctx, struct aml *ref);

/*
 * Resource templates (§6.4): aml_resource_template() returns a Buffer node;
 * append descriptors to it and the EndTag is added when encoding.
 */
struct aml *aml_resource_template(struct aml_ctx *ctx);
struct aml *aml_io(struct aml_ctx *ctx, uint16_t min, uint16_t max,
		   uint8_t align, uint8_t len);	/* IO(Decode16, ...) */
struct aml *aml_irq_noflags(struct aml_ctx *ctx, uint8_t irq);	/* IRQNoFlags(){irq} */
/* Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|Low, Exclusive) {gsi} */
struct aml *aml_interrupt(struct aml_ctx *ctx, uint32_t gsi, int level, int active_low);
struct aml *aml_memory32_fixed(struct aml_ctx *ctx, uint32_t base, uint32_t len, int rw);
/* QWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, ...) */
struct aml *aml_qword_memory(struct aml_ctx *ctx, uint64_t min, uint64_t len);
/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, ...) */
struct aml *aml_word_bus_number(struct aml_ctx *ctx, uint16_t min, uint16_t max);
/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite) */
struct aml *aml_dword_memory(struct aml_ctx *ctx, uint32_t min, uint32_t len);

#endif
