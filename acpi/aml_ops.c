/*
 * AML statements and expressions (ACPI 6.5 §20.2.5.3, §20.2.5.4): an opcode
 * followed by its operands, which are child nodes.
 */
#include <stdarg.h>
#include <stdbool.h>

#include "acpi/aml.h"
#include "acpi/aml_priv.h"

/* --- Statements (§20.2.5.3) ------------------------------------------------ */

struct aml *aml_return(struct aml_ctx *ctx, struct aml *value)
{
	return aml_with(aml_opcode(ctx, 0xa4, false),
			value ? value : aml_int(ctx, 0), NULL, NULL);
}

struct aml *aml_if(struct aml_ctx *ctx, struct aml *predicate)
{
	return aml_with(aml_opcode(ctx, 0xa0, true), predicate, NULL, NULL);
}

struct aml *aml_else(struct aml_ctx *ctx)
{
	return aml_opcode(ctx, 0xa1, true);
}

struct aml *aml_while(struct aml_ctx *ctx, struct aml *predicate)
{
	return aml_with(aml_opcode(ctx, 0xa2, true), predicate, NULL, NULL);
}

struct aml *aml_break(struct aml_ctx *ctx)
{
	return aml_opcode(ctx, 0xa5, false);
}

struct aml *aml_notify(struct aml_ctx *ctx, struct aml *object, struct aml *value)
{
	return aml_with(aml_opcode(ctx, 0x86, false), object, value, NULL);
}

struct aml *aml_acquire(struct aml_ctx *ctx, struct aml *mutex, uint16_t timeout)
{
	uint8_t le[2] = { timeout & 0xff, timeout >> 8 };

	return aml_with(aml_extopcode(ctx, 0x23, false), mutex,
			aml_bytes(ctx, le, 2), NULL);
}

struct aml *aml_release(struct aml_ctx *ctx, struct aml *mutex)
{
	return aml_with(aml_extopcode(ctx, 0x27, false), mutex, NULL, NULL);
}

struct aml *aml_sleep(struct aml_ctx *ctx, uint64_t msec)
{
	return aml_with(aml_extopcode(ctx, 0x22, false), aml_int(ctx, msec),
			NULL, NULL);
}

/* A method invocation is its NameString followed by the arguments. */
struct aml *aml_call(struct aml_ctx *ctx, const char *method, unsigned nargs, ...)
{
	struct aml *n = aml_name(ctx, method);
	va_list ap;

	if (nargs > 7)
		aml_die("a method takes at most 7 arguments", method);
	va_start(ap, nargs);
	while (nargs--)
		aml_append(n, va_arg(ap, struct aml *));
	va_end(ap);
	return n;
}

struct aml *aml_arg(struct aml_ctx *ctx, unsigned n)
{
	if (n > 6)
		aml_die("no such argument", "Arg7+");
	return aml_opcode(ctx, 0x68 + n, false);
}

struct aml *aml_local(struct aml_ctx *ctx, unsigned n)
{
	if (n > 7)
		aml_die("no such local", "Local8+");
	return aml_opcode(ctx, 0x60 + n, false);
}

/* --- Expressions (§20.2.5.4) ----------------------------------------------- */

static struct aml *aml_op2(struct aml_ctx *ctx, uint8_t op, struct aml *a,
			   struct aml *b)
{
	return aml_with(aml_opcode(ctx, op, false), a, b, NULL);
}

static struct aml *aml_op3(struct aml_ctx *ctx, uint8_t op, struct aml *a,
			   struct aml *b, struct aml *target)
{
	return aml_with(aml_opcode(ctx, op, false), a, b, aml_target(ctx, target));
}

struct aml *aml_store(struct aml_ctx *ctx, struct aml *value, struct aml *target)
{
	return aml_op2(ctx, 0x70, value, aml_target(ctx, target));
}

struct aml *aml_add(struct aml_ctx *ctx, struct aml *a, struct aml *b,
		    struct aml *target)
{
	return aml_op3(ctx, 0x72, a, b, target);
}

struct aml *aml_subtract(struct aml_ctx *ctx, struct aml *a, struct aml *b,
			 struct aml *target)
{
	return aml_op3(ctx, 0x74, a, b, target);
}

struct aml *aml_and(struct aml_ctx *ctx, struct aml *a, struct aml *b,
		    struct aml *target)
{
	return aml_op3(ctx, 0x7b, a, b, target);
}

struct aml *aml_or(struct aml_ctx *ctx, struct aml *a, struct aml *b,
		   struct aml *target)
{
	return aml_op3(ctx, 0x7d, a, b, target);
}

struct aml *aml_shiftleft(struct aml_ctx *ctx, struct aml *a, struct aml *count)
{
	return aml_op3(ctx, 0x79, a, count, NULL);
}

struct aml *aml_shiftright(struct aml_ctx *ctx, struct aml *a, struct aml *count)
{
	return aml_op3(ctx, 0x7a, a, count, NULL);
}

struct aml *aml_increment(struct aml_ctx *ctx, struct aml *target)
{
	return aml_op2(ctx, 0x75, target, NULL);
}

struct aml *aml_decrement(struct aml_ctx *ctx, struct aml *target)
{
	return aml_op2(ctx, 0x76, target, NULL);
}

struct aml *aml_land(struct aml_ctx *ctx, struct aml *a, struct aml *b)
{
	return aml_op2(ctx, 0x90, a, b);
}

struct aml *aml_lor(struct aml_ctx *ctx, struct aml *a, struct aml *b)
{
	return aml_op2(ctx, 0x91, a, b);
}

struct aml *aml_lnot(struct aml_ctx *ctx, struct aml *a)
{
	return aml_op2(ctx, 0x92, a, NULL);
}

struct aml *aml_lequal(struct aml_ctx *ctx, struct aml *a, struct aml *b)
{
	return aml_op2(ctx, 0x93, a, b);
}

struct aml *aml_lgreater(struct aml_ctx *ctx, struct aml *a, struct aml *b)
{
	return aml_op2(ctx, 0x94, a, b);
}

struct aml *aml_lless(struct aml_ctx *ctx, struct aml *a, struct aml *b)
{
	return aml_op2(ctx, 0x95, a, b);
}

struct aml *aml_concatenate(struct aml_ctx *ctx, struct aml *a, struct aml *b,
			    struct aml *target)
{
	return aml_op3(ctx, 0x73, a, b, target);
}

struct aml *aml_to_integer(struct aml_ctx *ctx, struct aml *a, struct aml *target)
{
	return aml_op2(ctx, 0x99, a, aml_target(ctx, target));
}

struct aml *aml_index(struct aml_ctx *ctx, struct aml *obj, struct aml *idx)
{
	return aml_op3(ctx, 0x88, obj, idx, NULL);
}

struct aml *aml_deref(struct aml_ctx *ctx, struct aml *ref)
{
	return aml_op2(ctx, 0x83, ref, NULL);
}

/* CreateXFieldOp SourceBuff ByteIndex NameString */
struct aml *aml_create_dword_field(struct aml_ctx *ctx, struct aml *buffer,
				   struct aml *index, const char *name)
{
	return aml_with(aml_opcode(ctx, 0x8a, false), buffer, index,
			aml_name(ctx, name));
}

struct aml *aml_create_qword_field(struct aml_ctx *ctx, struct aml *buffer,
				   struct aml *index, const char *name)
{
	return aml_with(aml_opcode(ctx, 0x8f, false), buffer, index,
			aml_name(ctx, name));
}
