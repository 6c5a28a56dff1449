/*
 * Internals shared by aml.c, aml_ops.c and aml_resource.c; not for users
 * of the builder, who include acpi/aml.h only.
 */
#ifndef EVMM_AML_PRIV_H
#define EVMM_AML_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi/aml.h"

/* Reports a misuse of the builder (a bug in evmm) and aborts. */
__attribute__((noreturn)) void aml_die(const char *what, const char *detail);
/* Raw bytes with no opcode of their own: descriptors, fixed operands. */
struct aml *aml_bytes(struct aml_ctx *ctx, const void *data, size_t len);
/* An opcode (extopcode: 0x5B prefix); pkglen: the body has a PkgLength. */
struct aml *aml_opcode(struct aml_ctx *ctx, uint8_t op, bool pkglen);
struct aml *aml_extopcode(struct aml_ctx *ctx, uint8_t op, bool pkglen);
/* Appends the non-NULL nodes among a, b, c to n; returns n. */
struct aml *aml_with(struct aml *n, struct aml *a, struct aml *b, struct aml *c);
/* target itself, or NullName for "no target". */
struct aml *aml_target(struct aml_ctx *ctx, struct aml *target);

#endif
