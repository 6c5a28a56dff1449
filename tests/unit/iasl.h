/*
 * iasl from the unit tests: a temp dir for the files, the disassembler's
 * verdict on a table, and a recompile that must give our AML back.
 */
#ifndef EVMM_TESTS_IASL_H
#define EVMM_TESTS_IASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An unchecked fixture: the temp dir lives in the runner, so it goes away
 * even after a failed (forked) test.
 */
void iasl_setup(void);
void iasl_teardown(void);

/* Files of the temp dir, by name. iasl_read: NUL-terminated, NULL if absent. */
void iasl_write(const char *name, const void *data, size_t len);
char *iasl_read(const char *name, size_t *len);
/* Writes table t (its header's length) to <base>.dat. */
void iasl_write_table(const char *base, const uint8_t *t);
/* Runs "iasl <opt> <file>" in the temp dir, output to log; the wait status. */
int iasl_run(const char *opt, const char *file, const char *log);

/*
 * Disassembles <base>.dat. NULL when iasl is happy (exit 0, no error or
 * warning, <base>.dsl written), else why not.
 */
const char *iasl_disassemble(const char *base);
/* Disassembles <base>.dat and recompiles it: is the AML t's, byte for byte? */
bool iasl_recompiles_to(const char *base, const uint8_t *t);

/*
 * Fails the test unless <base> (table t) disassembles cleanly and
 * recompiles to t; returns the disassembly (free() it).
 */
char *iasl_round_trip(const char *base, const uint8_t *t);
/* How many times what occurs in s. */
unsigned int iasl_count(const char *s, const char *what);

/* A DSDT (revision 2, checksummed) around aml; free() it. */
uint8_t *iasl_make_dsdt(const uint8_t *aml, size_t len);

#endif
