#include "sha256.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t K[64] = {
	0x428a2f98,
	0x71374491,
	0xb5c0fbcf,
	0xe9b5dba5,
	0x3956c25b,
	0x59f111f1,
	0x923f82a4,
	0xab1c5ed5,
	0xd807aa98,
	0x12835b01,
	0x243185be,
	0x550c7dc3,
	0x72be5d74,
	0x80deb1fe,
	0x9bdc06a7,
	0xc19bf174,
	0xe49b69c1,
	0xefbe4786,
	0x0fc19dc6,
	0x240ca1cc,
	0x2de92c6f,
	0x4a7484aa,
	0x5cb0a9dc,
	0x76f988da,
	0x983e5152,
	0xa831c66d,
	0xb00327c8,
	0xbf597fc7,
	0xc6e00bf3,
	0xd5a79147,
	0x06ca6351,
	0x14292967,
	0x27b70a85,
	0x2e1b2138,
	0x4d2c6dfc,
	0x53380d13,
	0x650a7354,
	0x766a0abb,
	0x81c2c92e,
	0x92722c85,
	0xa2bfe8a1,
	0xa81a664b,
	0xc24b8b70,
	0xc76c51a3,
	0xd192e819,
	0xd6990624,
	0xf40e3585,
	0x106aa070,
	0x19a4c116,
	0x1e376c08,
	0x2748774c,
	0x34b0bcb5,
	0x391c0cb3,
	0x4ed8aa4a,
	0x5b9cca4f,
	0x682e6ff3,
	0x748f82ee,
	0x78a5636f,
	0x84c87814,
	0x8cc70208,
	0x90befffa,
	0xa4506ceb,
	0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void compress_c(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

/* compress_shani: the same block function on the SHA extensions of x86
 * (SHA256RNDS2 does two rounds; SHA256MSG1/MSG2 the message schedule). The
 * state is kept as the instructions want it, ABEF and CDGH. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_shani(uint32_t h[8], const unsigned char *p)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);	 /* CDAB */
	__m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B); /* EFGH */
	__m128i s0 = _mm_alignr_epi8(t, s1, 8);						 /* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xF0);						 /* CDGH */
	const __m128i abef = s0, cdgh = s1;
	__m128i w[4];
	for (int j = 0; j < 16; j++) {
		__m128i m;
		if (j < 4) {
			m = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), bswap);
		} else {
			m = _mm_sha256msg1_epu32(w[j & 3], w[(j + 1) & 3]);
			m = _mm_add_epi32(m, _mm_alignr_epi8(w[(j + 3) & 3], w[(j + 2) & 3], 4));
			m = _mm_sha256msg2_epu32(m, w[(j + 3) & 3]);
		}
		w[j & 3] = m;
		m = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)(K + 4 * j)));
		s1 = _mm_sha256rnds2_epu32(s1, s0, m);
		s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
	}
	s0 = _mm_add_epi32(s0, abef);
	s1 = _mm_add_epi32(s1, cdgh);
	t = _mm_shuffle_epi32(s0, 0x1B);   /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);  /* DCHG */
	s0 = _mm_blend_epi16(t, s1, 0xF0); /* DCBA */
	s1 = _mm_alignr_epi8(s1, t, 8);	   /* HGFE */
	_mm_storeu_si128((__m128i *)h, s0);
	_mm_storeu_si128((__m128i *)(h + 4), s1);
}

static bool have_shani(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#else
static bool have_shani(void)
{
	return false;
}
#endif

/* The block function: the SHA extensions where the CPU has them, unless
 * MIGSAFE_SHA256=portable (for tests and comparisons); chosen once. */
static void (*compress_fn)(uint32_t h[8], const unsigned char *p);
static pthread_once_t compress_once = PTHREAD_ONCE_INIT;

static void choose_compress(void)
{
	const char *e = getenv("MIGSAFE_SHA256");
	compress_fn = compress_c;
#if defined(__x86_64__) && defined(__GNUC__)
	if (!(e && !strcmp(e, "portable")) && have_shani())
		compress_fn = compress_shani;
#else
	(void)e;
#endif
}

static void compress(uint32_t h[8], const unsigned char *p)
{
	pthread_once(&compress_once, choose_compress);
	compress_fn(h, p);
}

const char *sha256_impl(void)
{
	pthread_once(&compress_once, choose_compress);
	return compress_fn == compress_c ? "portable" : "x86 SHA extensions";
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof(iv));
	s->total = 0;
	s->used = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->total += n;
	if (s->used) {
		size_t take = SHA256_BLOCK - s->used < n ? SHA256_BLOCK - s->used : n;
		memcpy(s->block + s->used, p, take);
		s->used += take, p += take, n -= take;
		if (s->used < SHA256_BLOCK)
			return;
		compress(s->h, s->block);
		s->used = 0;
	}
	for (; n >= SHA256_BLOCK; p += SHA256_BLOCK, n -= SHA256_BLOCK)
		compress(s->h, p);
	memcpy(s->block, p, n);
	s->used = n;
}

void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN])
{
	uint64_t bits = s->total * 8;
	unsigned char pad[SHA256_BLOCK + 8] = {0x80};
	size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
	for (int i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}

void sha256(const void *data, size_t n, unsigned char out[SHA256_LEN])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, out);
}

void hmac_sha256_key_init(struct hmac_sha256_key *k, const void *key, size_t keylen)
{
	unsigned char kb[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK];
	if (keylen > SHA256_BLOCK)
		sha256(key, keylen, kb);
	else if (keylen)
		memcpy(kb, key, keylen);
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = kb[i] ^ 0x36;
	sha256_init(&k->inner);
	sha256_update(&k->inner, pad, sizeof(pad));
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = kb[i] ^ 0x5c;
	sha256_init(&k->outer);
	sha256_update(&k->outer, pad, sizeof(pad));
	memset(kb, 0, sizeof(kb));
}

void hmac_sha256_with(const struct hmac_sha256_key *k, const void *a, size_t alen, const void *b,
		      size_t blen, unsigned char out[SHA256_LEN])
{
	struct sha256 s = k->inner;
	unsigned char ih[SHA256_LEN];
	sha256_update(&s, a, alen);
	if (b)
		sha256_update(&s, b, blen);
	sha256_final(&s, ih);
	s = k->outer;
	sha256_update(&s, ih, sizeof(ih));
	sha256_final(&s, out);
}

void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		 unsigned char out[SHA256_LEN])
{
	struct hmac_sha256_key k;
	hmac_sha256_key_init(&k, key, keylen);
	hmac_sha256_with(&k, data, n, NULL, 0, out);
}
