/*
 * sha256: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), small and
 * dependency-free, for deterministic masking (mkshadow). Not constant-time
 * beyond what the algorithm gives; the key is never printed.
 *
 * Usage: sha256_init, sha256_update as often as needed, sha256_final; or
 * the one-shot sha256() and hmac_sha256(). Outputs are SHA256_LEN bytes
 * written to the caller's buffer.
 */
#ifndef MIGSAFE_SHA256_H
#define MIGSAFE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

struct sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	unsigned char block[SHA256_BLOCK];
	size_t used; /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);
void sha256(const void *data, size_t n, unsigned char out[SHA256_LEN]);
/* sha256_impl: the block function in use: "x86 SHA extensions" where the
 * CPU has them, else (or with MIGSAFE_SHA256=portable) "portable". */
const char *sha256_impl(void);

/* hmac_sha256: HMAC-SHA256 of data under key (any length). */
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		 unsigned char out[SHA256_LEN]);

/* HMAC with a prepared key, for hashing many values under one key: the
 * inner and outer states after their padded key blocks. */
struct hmac_sha256_key {
	struct sha256 inner, outer;
};

void hmac_sha256_key_init(struct hmac_sha256_key *k, const void *key, size_t keylen);
/* hmac_sha256_with: HMAC of the concatenation of a and b (b may be NULL). */
void hmac_sha256_with(const struct hmac_sha256_key *k, const void *a, size_t alen, const void *b,
		      size_t blen, unsigned char out[SHA256_LEN]);

#endif
