/*
 * seal: the part of a shadow's mark that nobody can write without the
 * operator's seal key.
 *
 * A shadow's mark (COMMENT ON DATABASE / SCHEMA, the local cluster's mark
 * file, a container's labels) carries "seal": hex HMAC-SHA256, under the
 * seal key, of what identifies that shadow (its server's system identifier,
 * its database and schema; a local cluster's directory; a container's
 * nonce). A migration can write a comment, and a record on stdin can be
 * forged, but neither can produce a seal: applyexplain runs migrations,
 * and mkshadow --destroy/--gc removes things, only where the seal matches.
 *
 * The key: MIGSAFE_SEAL_KEY when set (any text; its SHA-256 is the key), else
 * the file $XDG_STATE_HOME/migsafe/seal.key (default ~/.local/state), which
 * mkshadow creates on first use (0600, in a 0700 folder) and which must be
 * the invoking user's own, not a symlink, and readable by nobody else.
 */
#ifndef MIGSAFE_SEAL_H
#define MIGSAFE_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#define SEAL_KEY_LEN 32

/* seal_key: the key into key; create: make the key file when there is
 * none. Returns 0, or -1 with *why (caller frees) saying what is wrong. */
int seal_key(bool create, unsigned char key[SEAL_KEY_LEN], char **why);

/* seal_of: the seal of the identity parts (NULL parts count as ""), as 64
 * hex digits; caller frees. */
char *seal_of(const unsigned char key[SEAL_KEY_LEN], const char *kind, const char *a, const char *b,
	      const char *c);

/* seal_equal: a == b, in time that does not depend on where they differ;
 * false when either is NULL. */
bool seal_equal(const char *a, const char *b);

/* seal_mark_ok: mark is a shadow mark, "migsafe shadow {json}", whose
 * "seal" equals expected. */
bool seal_mark_ok(const char *mark, const char *expected);

/* seal_random_hex: bytes random bytes from /dev/urandom as hex (caller
 * frees); NULL when it cannot read them (the caller reports it, as a
 * runtime error). */
char *seal_random_hex(size_t bytes);

#endif
