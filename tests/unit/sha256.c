/* Unit tests for common/sha256: FIPS 180-4 examples and RFC 4231 HMAC vectors. */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "tap.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void unhex(const char *s, unsigned char *out, size_t *n)
{
	*n = strlen(s) / 2;
	for (size_t i = 0; i < *n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

static void test_sha256(void)
{
	static const struct {
		const char *msg, *want;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	};
	unsigned char d[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		sha256(v[i].msg, strlen(v[i].msg), d);
		hex(d, sizeof(d), h);
		IS_STR(h, v[i].want, "sha256 FIPS vector");
	}
	/* one million 'a', fed in uneven pieces to exercise the block buffer */
	struct sha256 s;
	char chunk[997];
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		sha256_update(&s, chunk, n);
		left -= n;
	}
	sha256_final(&s, d);
	hex(d, sizeof(d), h);
	IS_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "sha256 of a million 'a'");
}

static void test_hmac(void)
{
	/* RFC 4231 test cases 1, 2, 3, 4, 6, 7 (key hex, data hex, HMAC-SHA-256) */
	static const struct {
		const char *key, *data, *want;
	} v[] = {
		{"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
		 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{"0102030405060708090a0b0c0d0e0f10111213141516171819",
		 "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
		 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
		 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		unsigned char key[256], data[512], d[SHA256_LEN];
		size_t kn, dn;
		char h[2 * SHA256_LEN + 1];
		unhex(v[i].key, key, &kn);
		unhex(v[i].data, data, &dn);
		hmac_sha256(key, kn, data, dn, d);
		hex(d, sizeof(d), h);
		IS_STR(h, v[i].want, "hmac-sha256 RFC 4231 vector");
		/* the prepared-key form, with the data split in two, agrees */
		struct hmac_sha256_key k;
		hmac_sha256_key_init(&k, key, kn);
		hmac_sha256_with(&k, data, dn / 2, data + dn / 2, dn - dn / 2, d);
		hex(d, sizeof(d), h);
		IS_STR(h, v[i].want, "hmac-sha256 with a prepared key");
	}
}

/* Every message length from 0 to 1,000 (every padding case, one to 16
 * blocks), hashed in a chain: the digest the portable block function gives,
 * which the vectors above vouch for (and Python's hashlib computes too).
 * tests/unit.t runs this binary with the CPU's SHA extensions (where
 * present) and with MIGSAFE_SHA256=portable. */
static void test_lengths(void)
{
	unsigned char msg[1000], acc[SHA256_LEN] = {0}, d[SHA256_LEN];
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < sizeof(msg); i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		msg[i] = (unsigned char)x;
	}
	for (size_t n = 0; n <= sizeof(msg); n++) {
		struct sha256 s;
		sha256(msg, n, d);
		sha256_init(&s);
		sha256_update(&s, acc, sizeof(acc));
		sha256_update(&s, d, sizeof(d));
		sha256_final(&s, acc);
	}
	char h[2 * SHA256_LEN + 1];
	hex(acc, sizeof(acc), h);
	IS_STR(h, "e3a9ab89cbf0bc7bc12ce6c4b1f037deda2ca7f0aa80ddbf1c2b60518350a51a", sha256_impl()); /* Python hashlib agrees */
}

int main(void)
{
	test_sha256();
	test_lengths();
	test_hmac();
	return tap_done();
}
