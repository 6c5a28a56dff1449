/*
 * What the libFuzzer harnesses share: the entry points, a failed invariant
 * as a crash (libFuzzer saves the input), and a reader over the input.
 */
#ifndef EVMM_FUZZ_H
#define EVMM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant the module broke: abort, so the input is kept as a crash. */
#define fuzz_assert(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s: ",	\
			__FILE__, __LINE__, #cond);			\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* Consumes the input front to back; past the end, everything reads 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes && in->left; i++, in->p++, in->left--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

/* Up to the next NUL (consumed), as a malloc'd C string of exact size. */
static inline char *fuzz_take_str(struct fuzz_in *in)
{
	const uint8_t *nul = memchr(in->p, 0, in->left);
	size_t n = nul ? (size_t)(nul - in->p) : in->left;
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n + (nul != NULL);
	in->left -= n + (nul != NULL);
	return s;
}

#endif
