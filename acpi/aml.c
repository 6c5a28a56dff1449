/*
 * AML byte-code builder. Grammar and opcode values: ACPI 6.5 §20.2.
 *
 * A node is: opcode bytes, an optional PkgLength, fixed bytes ("pre":
 * a NameString, method flags, raw buffer data), then its children.
 * A few kinds add a computed prefix (BufferSize, NumElements) or suffix
 * (EndTag, a field unit's bit count). Sizes are computed on demand, so
 * children can be appended in any order before the single encode.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "acpi/aml_priv.h"

enum aml_kind {
	AML_PLAIN,		/* op, pre, children */
	AML_PKG,		/* op, PkgLength, pre, children */
	AML_BUFFER,		/* BufferOp PkgLength BufferSize pre children */
	AML_RESTEMPLATE,	/* AML_BUFFER + EndTag */
	AML_PACKAGE,		/* PackageOp PkgLength NumElements children */
	AML_FIELD,		/* FieldOp PkgLength pre units */
	AML_FIELD_UNIT,		/* pre (NameSeg or 0x00), bit count */
	AML_FIELD_OFFSET,	/* becomes a unit (or nothing) when appended */
};

struct aml {
	enum aml_kind kind;
	uint8_t op[2];
	uint8_t op_len;
	bool linked;		/* already someone's child */
	const uint8_t *pre;
	size_t pre_len;
	unsigned long bits;	/* unit width; a field's running bit offset */
	struct aml *first, *last, *next;
	struct aml_ctx *ctx;
};

struct aml_block {
	struct aml_block *next;
	max_align_t data[];
};

struct aml_ctx {
	struct aml_block *blocks;
};

/* PkgLength can describe at most 2^28 - 1 bytes (§20.2.4). */
#define AML_PKGLEN_MAX	0xfffffffUL

#define AML_PACKAGE_OP		0x12
#define AML_VARPACKAGE_OP	0x13

void aml_die(const char *what, const char *detail)
{
	fprintf(stderr, "aml: %s: %s\n", what, detail ? detail : "");
	abort();
}

struct aml_ctx *aml_ctx_new(void)
{
	struct aml_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		aml_die("out of memory", NULL);
	return ctx;
}

void aml_ctx_free(struct aml_ctx *ctx)
{
	struct aml_block *b, *next;

	if (!ctx)
		return;
	for (b = ctx->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(ctx);
}

static void *aml_alloc(struct aml_ctx *ctx, size_t size)
{
	struct aml_block *b = calloc(1, sizeof(*b) + size);

	if (!b)
		aml_die("out of memory", NULL);
	b->next = ctx->blocks;
	ctx->blocks = b;
	return b->data;
}

static struct aml *aml_node(struct aml_ctx *ctx, enum aml_kind kind,
			    unsigned op_len, uint8_t op0, uint8_t op1)
{
	struct aml *n = aml_alloc(ctx, sizeof(*n));

	n->ctx = ctx;
	n->kind = kind;
	n->op_len = op_len;
	n->op[0] = op0;
	n->op[1] = op1;
	return n;
}

#define aml_op(ctx, kind, op) aml_node(ctx, kind, 1, op, 0)
#define aml_extop(ctx, kind, op) aml_node(ctx, kind, 2, 0x5b, op)

struct aml *aml_opcode(struct aml_ctx *ctx, uint8_t op, bool pkglen)
{
	return aml_op(ctx, pkglen ? AML_PKG : AML_PLAIN, op);
}

struct aml *aml_extopcode(struct aml_ctx *ctx, uint8_t op, bool pkglen)
{
	return aml_extop(ctx, pkglen ? AML_PKG : AML_PLAIN, op);
}

/* Appends bytes to a node's fixed part (rare, so copying is fine). */
static void aml_pre_add(struct aml *n, const void *data, size_t len)
{
	uint8_t *p = aml_alloc(n->ctx, n->pre_len + len);

	if (n->pre_len)
		memcpy(p, n->pre, n->pre_len);
	memcpy(p + n->pre_len, data, len);
	n->pre = p;
	n->pre_len += len;
}

static void aml_pre_byte(struct aml *n, uint8_t byte)
{
	aml_pre_add(n, &byte, 1);
}

struct aml *aml_bytes(struct aml_ctx *ctx, const void *data, size_t len)
{
	struct aml *n = aml_node(ctx, AML_PLAIN, 0, 0, 0);

	aml_pre_add(n, data, len);
	return n;
}

struct aml *aml_list(struct aml_ctx *ctx)
{
	return aml_node(ctx, AML_PLAIN, 0, 0, 0);
}

/* --- NameString (§20.2.2) ------------------------------------------------ */

static bool aml_seg_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!lead && c >= '0' && c <= '9');
}

/* One NameSeg, padded with '_'; returns the characters consumed. */
static size_t aml_put_seg(const char *name, const char *s, uint8_t *out)
{
	size_t len = strcspn(s, ".");
	size_t i;

	if (len == 0 || len > 4)
		aml_die("bad name segment", name);
	for (i = 0; i < 4; i++) {
		if (i < len && !aml_seg_char(s[i], i == 0))
			aml_die("bad character in name", name);
		out[i] = i < len ? (uint8_t)s[i] : '_';
	}
	return len;
}

static size_t aml_count_segs(const char *s)
{
	size_t n = 1;

	if (!*s)
		return 0;
	for (; *s; s++)
		n += *s == '.';
	return n;
}

/* Encodes name into out (room for 4 * strlen + 4 bytes); returns the length. */
static size_t aml_put_namestring(const char *name, uint8_t *out)
{
	const char *s = name;
	size_t nsegs, i, len = 0;

	if (*s == '\\')
		out[len++] = *s++;
	else
		while (*s == '^')
			out[len++] = *s++;
	nsegs = aml_count_segs(s);
	if (nsegs == 0 && len == 0)
		aml_die("empty name", name);
	if (nsegs == 0)
		out[len++] = 0x00;		/* NullName */
	else if (nsegs == 2)
		out[len++] = 0x2e;		/* DualNamePrefix */
	else if (nsegs > 2) {
		if (nsegs > 255)
			aml_die("too many name segments", name);
		out[len++] = 0x2f;		/* MultiNamePrefix */
		out[len++] = nsegs;
	}
	for (i = 0; i < nsegs; i++) {
		s += aml_put_seg(name, s, out + len);
		len += 4;
		if (*s == '.')
			s++;
	}
	if (*s)
		aml_die("bad name", name);
	return len;
}

static void aml_pre_name(struct aml *n, const char *name)
{
	uint8_t *buf;

	if (!name)
		aml_die("missing name", NULL);
	buf = aml_alloc(n->ctx, 4 * strlen(name) + 4);
	aml_pre_add(n, buf, aml_put_namestring(name, buf));
}

/* --- Integers (§20.2.3) and PkgLength (§20.2.4) ---------------------------- */

static size_t aml_int_len(uint64_t v)
{
	if (v == 0 || v == 1 || v == ~0ULL)
		return 1;
	if (v <= 0xff)
		return 2;
	if (v <= 0xffff)
		return 3;
	if (v <= 0xffffffff)
		return 5;
	return 9;
}

static uint8_t *aml_put_le(uint8_t *out, uint64_t v, size_t n)
{
	while (n--) {
		*out++ = v & 0xff;
		v >>= 8;
	}
	return out;
}

static uint8_t *aml_put_int(uint8_t *out, uint64_t v)
{
	static const uint8_t prefix[] = {
		[2] = 0x0a, [3] = 0x0b, [5] = 0x0c, [9] = 0x0e,
	};
	size_t len = aml_int_len(v);

	if (len == 1) {
		*out++ = v == 0 ? 0x00 : v == 1 ? 0x01 : 0xff;
		return out;
	}
	*out++ = prefix[len];
	return aml_put_le(out, v, len - 1);
}

/* Bytes of a PkgLength encoding value. */
static size_t aml_pkglen_bytes(unsigned long value)
{
	if (value <= 0x3f)
		return 1;
	if (value <= 0xfff)
		return 2;
	if (value <= 0xfffff)
		return 3;
	if (value <= AML_PKGLEN_MAX)
		return 4;
	aml_die("package too large", NULL);
}

/* Bytes of the PkgLength of an opcode whose body is body bytes: it counts itself. */
static size_t aml_pkglen_for_body(size_t body)
{
	size_t n;

	for (n = 1; n < 4; n++)
		if (aml_pkglen_bytes(body + n) <= n)
			return n;
	aml_pkglen_bytes(body + 4);
	return 4;
}

/* Lead byte: count of following bytes in bits 7:6, low nibble in 3:0. */
static uint8_t *aml_put_pkglen(uint8_t *out, unsigned long value, size_t n)
{
	if (n == 1) {
		*out++ = value;
		return out;
	}
	*out++ = (n - 1) << 6 | (value & 0xf);
	return aml_put_le(out, value >> 4, n - 1);
}

/* --- Sizes and encoding ---------------------------------------------------- */

static size_t aml_count_children(const struct aml *n)
{
	const struct aml *c;
	size_t count = 0;

	for (c = n->first; c; c = c->next)
		count++;
	return count;
}

static bool aml_has_pkglen(const struct aml *n)
{
	return n->kind != AML_PLAIN && n->kind != AML_FIELD_UNIT &&
	       n->kind != AML_FIELD_OFFSET;
}

/* Resource data of a template: descriptors plus the EndTag (§6.4.2.9). */
static size_t aml_buffer_data(const struct aml *n, size_t content)
{
	return content + (n->kind == AML_RESTEMPLATE ? 2 : 0);
}

static size_t aml_package_count_len(size_t count)
{
	return count > 255 ? aml_int_len(count) : 1;
}

/* Fixed bytes and children: the data of a buffer. */
static size_t aml_content_size(const struct aml *n)
{
	const struct aml *c;
	size_t size = n->pre_len;

	for (c = n->first; c; c = c->next)
		size += aml_size(c);
	return size;
}

/* Everything after the PkgLength (or after the opcode without one). */
static size_t aml_body_size(const struct aml *n)
{
	size_t size = aml_content_size(n);

	switch (n->kind) {
	case AML_BUFFER:
	case AML_RESTEMPLATE:
		size = aml_buffer_data(n, size);
		return size + aml_int_len(size);
	case AML_PACKAGE:
		return size + aml_package_count_len(aml_count_children(n));
	case AML_FIELD_UNIT:
		return size + aml_pkglen_bytes(n->bits);
	default:
		return size;
	}
}

size_t aml_size(const struct aml *n)
{
	size_t body = aml_body_size(n);

	if (aml_has_pkglen(n))
		body += aml_pkglen_for_body(body);
	return n->op_len + body;
}

static uint8_t *aml_put(const struct aml *n, uint8_t *out);

static uint8_t *aml_put_children(const struct aml *n, uint8_t *out)
{
	const struct aml *c;

	for (c = n->first; c; c = c->next)
		out = aml_put(c, out);
	return out;
}

/* The computed prefix some kinds have right after their PkgLength. */
static uint8_t *aml_put_prefix(const struct aml *n, uint8_t *out)
{
	size_t count;

	switch (n->kind) {
	case AML_BUFFER:
	case AML_RESTEMPLATE:
		return aml_put_int(out, aml_buffer_data(n, aml_content_size(n)));
	case AML_PACKAGE:
		count = aml_count_children(n);
		if (count <= 255)
			*out++ = count;
		else
			out = aml_put_int(out, count);
		return out;
	default:
		return out;
	}
}

static uint8_t *aml_put(const struct aml *n, uint8_t *out)
{
	size_t body = aml_body_size(n);
	size_t plen;

	memcpy(out, n->op, n->op_len);
	/* Past 255 elements, NumElements no longer fits a byte. */
	if (n->kind == AML_PACKAGE && aml_count_children(n) > 255)
		out[0] = AML_VARPACKAGE_OP;
	out += n->op_len;
	if (aml_has_pkglen(n)) {
		plen = aml_pkglen_for_body(body);
		out = aml_put_pkglen(out, body + plen, plen);
	}
	out = aml_put_prefix(n, out);
	if (n->pre_len)
		memcpy(out, n->pre, n->pre_len);
	out += n->pre_len;
	out = aml_put_children(n, out);
	if (n->kind == AML_FIELD_UNIT)
		out = aml_put_pkglen(out, n->bits, aml_pkglen_bytes(n->bits));
	if (n->kind == AML_RESTEMPLATE) {
		*out++ = 0x79;		/* EndTag, length 1 */
		*out++ = 0x00;		/* checksum 0: "treat as valid" */
	}
	return out;
}

void aml_encode(const struct aml *n, uint8_t *out)
{
	aml_put(n, out);
}

/* --- Tree ------------------------------------------------------------------ */

/* Offset(n) becomes the reserved gap from the field's current bit offset. */
static void aml_field_add(struct aml *field, struct aml *unit)
{
	unsigned long target = unit->bits;

	if (unit->kind == AML_FIELD_OFFSET) {
		if (target < field->bits)
			aml_die("field Offset() goes backwards", NULL);
		unit->bits = target - field->bits;
		unit->kind = unit->bits ? AML_FIELD_UNIT : AML_PLAIN;
		if (!unit->bits)
			unit->pre_len = 0;
	}
	field->bits += unit->bits;
}

void aml_append(struct aml *parent, struct aml *child)
{
	bool is_unit;

	if (!parent || !child)
		aml_die("NULL node appended", NULL);
	if (child->linked || child == parent)
		aml_die("node appended twice", NULL);
	is_unit = child->kind == AML_FIELD_UNIT ||
		  child->kind == AML_FIELD_OFFSET;
	if (is_unit != (parent->kind == AML_FIELD))
		aml_die("field units go in fields only", NULL);
	if (is_unit)
		aml_field_add(parent, child);
	child->linked = true;
	if (parent->last)
		parent->last->next = child;
	else
		parent->first = child;
	parent->last = child;
}

struct aml *aml_with(struct aml *n, struct aml *a, struct aml *b,
			    struct aml *c)
{
	if (a)
		aml_append(n, a);
	if (b)
		aml_append(n, b);
	if (c)
		aml_append(n, c);
	return n;
}

/* NullName stands for "no target" (§20.2.2 Target). */
struct aml *aml_target(struct aml_ctx *ctx, struct aml *target)
{
	static const uint8_t null_name;

	return target ? target : aml_bytes(ctx, &null_name, 1);
}

/* --- Data objects (§20.2.3) ------------------------------------------------ */

struct aml *aml_int(struct aml_ctx *ctx, uint64_t value)
{
	uint8_t buf[9];

	return aml_bytes(ctx, buf, aml_put_int(buf, value) - buf);
}

struct aml *aml_dword(struct aml_ctx *ctx, uint32_t value)
{
	uint8_t buf[5] = { 0x0c };

	aml_put_le(buf + 1, value, 4);
	return aml_bytes(ctx, buf, sizeof(buf));
}

struct aml *aml_string(struct aml_ctx *ctx, const char *s)
{
	struct aml *n = aml_op(ctx, AML_PLAIN, 0x0d);
	const char *p;

	for (p = s; *p; p++)
		if ((unsigned char)*p > 0x7f)
			aml_die("non-ASCII string", s);
	aml_pre_add(n, s, strlen(s) + 1);
	return n;
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * EISA ID (§19.6.35 EISAID): three letters in 5 bits each, then four hex
 * digits, stored big-endian in a DWord.
 */
struct aml *aml_eisaid(struct aml_ctx *ctx, const char *id)
{
	uint32_t v = 0;
	int i, d;

	if (strlen(id) != 7)
		aml_die("EISA ID must be 7 characters (use aml_string)", id);
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			aml_die("bad EISA ID vendor", id);
		v = v << 5 | (id[i] - '@');
	}
	for (i = 3; i < 7; i++) {
		d = aml_hex_digit(id[i]);
		if (d < 0)
			aml_die("bad EISA ID product", id);
		v = v << 4 | d;
	}
	return aml_dword(ctx, __builtin_bswap32(v));
}

/* Buffer and ResourceTemplate: BufferSize counts the data only (§20.2.5.4). */
struct aml *aml_buffer(struct aml_ctx *ctx, const uint8_t *data, size_t len)
{
	struct aml *n = aml_op(ctx, AML_BUFFER, 0x11);

	if (len)
		aml_pre_add(n, data, len);
	return n;
}

struct aml *aml_resource_template(struct aml_ctx *ctx)
{
	return aml_op(ctx, AML_RESTEMPLATE, 0x11);
}

struct aml *aml_package(struct aml_ctx *ctx)
{
	return aml_op(ctx, AML_PACKAGE, AML_PACKAGE_OP);
}

struct aml *aml_varpackage(struct aml_ctx *ctx, struct aml *count)
{
	return aml_with(aml_op(ctx, AML_PKG, AML_VARPACKAGE_OP), count, NULL, NULL);
}

/* --- Names, scopes, devices, regions (§20.2.5.1, §20.2.5.2) ----------------- */

static struct aml *aml_named(struct aml *n, const char *name)
{
	aml_pre_name(n, name);
	return n;
}

struct aml *aml_name(struct aml_ctx *ctx, const char *name)
{
	return aml_named(aml_list(ctx), name);
}

struct aml *aml_name_decl(struct aml_ctx *ctx, const char *name,
			  struct aml *value)
{
	struct aml *n = aml_named(aml_op(ctx, AML_PLAIN, 0x08), name);

	return aml_with(n, value, NULL, NULL);
}

struct aml *aml_scope(struct aml_ctx *ctx, const char *name)
{
	return aml_named(aml_op(ctx, AML_PKG, 0x10), name);
}

struct aml *aml_device(struct aml_ctx *ctx, const char *name)
{
	return aml_named(aml_extop(ctx, AML_PKG, 0x82), name);
}

/* MethodFlags: ArgCount in bits 2:0, SerializeFlag in bit 3, SyncLevel 0. */
struct aml *aml_method(struct aml_ctx *ctx, const char *name, unsigned nargs,
		       int serialized)
{
	struct aml *n = aml_named(aml_op(ctx, AML_PKG, 0x14), name);

	if (nargs > 7)
		aml_die("a method takes at most 7 arguments", name);
	aml_pre_byte(n, nargs | (serialized ? 1 << 3 : 0));
	return n;
}

struct aml *aml_mutex(struct aml_ctx *ctx, const char *name, unsigned sync_level)
{
	struct aml *n = aml_named(aml_extop(ctx, AML_PLAIN, 0x01), name);

	if (sync_level > 15)
		aml_die("mutex sync level above 15", name);
	aml_pre_byte(n, sync_level);
	return n;
}

struct aml *aml_operation_region(struct aml_ctx *ctx, const char *name,
				 enum aml_region_space space,
				 uint64_t offset, uint64_t len)
{
	struct aml *n = aml_named(aml_extop(ctx, AML_PLAIN, 0x80), name);

	aml_pre_byte(n, space);
	return aml_with(n, aml_int(ctx, offset), aml_int(ctx, len), NULL);
}

/* FieldFlags: AccessType 3:0, LockRule 4 (NoLock = 0), UpdateRule 6:5. */
struct aml *aml_field(struct aml_ctx *ctx, const char *region,
		      enum aml_access access, enum aml_update update)
{
	struct aml *n = aml_named(aml_extop(ctx, AML_FIELD, 0x81), region);

	aml_pre_byte(n, (access & 0xf) | (update & 3) << 5);
	return n;
}

static struct aml *aml_field_unit(struct aml_ctx *ctx, enum aml_kind kind,
				  unsigned long bits)
{
	struct aml *n = aml_node(ctx, kind, 0, 0, 0);

	if (bits > AML_PKGLEN_MAX)
		aml_die("field unit too wide", NULL);
	n->bits = bits;
	return n;
}

struct aml *aml_named_field(struct aml_ctx *ctx, const char *name, unsigned bits)
{
	struct aml *n = aml_field_unit(ctx, AML_FIELD_UNIT, bits);
	uint8_t seg[4];

	if (strlen(name) > 4 || aml_put_seg(name, name, seg) != strlen(name))
		aml_die("a field unit name is one NameSeg", name);
	aml_pre_add(n, seg, 4);
	return n;
}

/* ReservedField := 0x00 PkgLength */
struct aml *aml_reserved_field(struct aml_ctx *ctx, unsigned bits)
{
	struct aml *n = aml_field_unit(ctx, AML_FIELD_UNIT, bits);

	aml_pre_byte(n, 0x00);
	return n;
}

struct aml *aml_field_offset(struct aml_ctx *ctx, unsigned byte_offset)
{
	struct aml *n = aml_field_unit(ctx, AML_FIELD_OFFSET,
				       (unsigned long)byte_offset * 8);

	aml_pre_byte(n, 0x00);
	return n;
}
