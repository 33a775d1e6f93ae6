/*
 * mask: personal data recognised by column name and type, and the masking
 * rules. Every rule is deterministic under the run's key (HMAC-SHA256 of a
 * rule tag and the normalised value), so equal inputs give equal outputs in
 * every table: joins hold, and unique values stay unique (up to the 64 bits
 * of hash that a fake email or a hash keeps).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkshadow.h"
#include "xalloc.h"

static const char *const kind_names[] = {"keep", "null", "fixed", "hash", "email",
					 "name", "digits", "ip", "date"};

const char *mask_kind_name(enum mask_kind k)
{
	return kind_names[k];
}

int mask_parse_rule(const char *s, struct mask_rule *r)
{
	memset(r, 0, sizeof(*r));
	if (!strncmp(s, "fixed:", 6)) {
		r->kind = MASK_FIXED;
		r->fixed = xstrdup(s + 6);
		return 0;
	}
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(*kind_names); i++)
		if (i != MASK_FIXED && !strcmp(s, kind_names[i])) {
			r->kind = (enum mask_kind)i;
			return 0;
		}
	return -1;
}

/* has_word: name, split at '_' (and case changes are ignored), holds w. */
static bool has_word(const char *name, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = name; (p = strstr(p, w)); p++) {
		bool start = p == name || p[-1] == '_';
		bool end = p[n] == '\0' || p[n] == '_';
		if (start && end)
			return true;
	}
	return false;
}

static bool any_word(const char *name, const char *const *words)
{
	for (; *words; words++)
		if (has_word(name, *words))
			return true;
	return false;
}

/* person_table: a table whose plain "name" column names a person. */
static bool person_table(const char *t)
{
	static const char *const w[] = {"customer", "customers", "user", "users", "person", "people",
					"persons", "employee", "employees", "contact", "contacts",
					"member", "members", "patient", "patients", "client",
					"clients", "account", "accounts", "author", "authors", NULL};
	return any_word(t, w);
}

enum mask_kind mask_guess(const char *table, const char *column, char typclass)
{
	static const char *const email[] = {"email", "mail", "e_mail", "emailaddress", NULL};
	static const char *const phone[] = {"phone", "mobile", "cell", "fax", "tel", "telephone",
					    "msisdn", "phonenumber", NULL};
	static const char *const names[] = {"firstname", "lastname", "fullname", "surname",
					    "given_name", "family_name", "middle_name",
					    "display_name", "contact_name", "customer_name",
					    "first_name", "last_name", "full_name", "maiden_name",
					    "nickname", NULL};
	static const char *const addr[] = {"address", "street", "addr", "address1", "address2",
					   "address_line1", "address_line2", NULL};
	static const char *const ids[] = {"ssn", "national_id", "nin", "tax_id", "taxid", "passport",
					  "iban", "social_security", "driver_license", "zip",
					  "postal_code", "postcode", "zipcode", NULL};
	static const char *const card[] = {"card", "card_number", "cc_number", "pan", "cvv",
					   "card_last4", "last4", NULL};
	static const char *const secret[] = {"token", "password", "passwd", "secret", "api_key",
					     "apikey", "password_hash", "pass_hash", "salt",
					     "otp", "session", NULL};
	static const char *const ip[] = {"ip", "ip_address", "ipaddress", "remote_addr", "client_ip",
					 "last_ip", "last_login_ip", NULL};
	static const char *const birth[] = {"birth", "birthday", "dob", "birth_date", "birthdate",
					    "date_of_birth", NULL};
	char lc[128];
	size_t i;
	for (i = 0; column[i] && i + 1 < sizeof(lc); i++)
		lc[i] = (char)tolower((unsigned char)column[i]);
	lc[i] = '\0';
	bool text = typclass == 'S';
	if (any_word(lc, ip))
		return typclass == 'I' ? MASK_IP : text ? MASK_DIGITS : MASK_KEEP;
	if (any_word(lc, birth))
		return typclass == 'D' ? MASK_DATE : text ? MASK_DIGITS : MASK_KEEP;
	if (!text)
		return MASK_KEEP;
	if (any_word(lc, email))
		return MASK_EMAIL;
	if (any_word(lc, secret)) /* before card: a card_token is a secret, not digits */
		return MASK_HASH;
	if (any_word(lc, phone) || any_word(lc, ids) || any_word(lc, card))
		return MASK_DIGITS;
	if (any_word(lc, names) || (!strcmp(lc, "name") && person_table(table)))
		return MASK_NAME;
	if (any_word(lc, addr))
		return MASK_HASH;
	return MASK_KEEP;
}

bool mask_fits(enum mask_kind k, char typclass)
{
	switch (k) {
	case MASK_KEEP:
	case MASK_NULL:
	case MASK_FIXED: return true;
	case MASK_IP: return typclass == 'I';
	case MASK_DATE: return typclass == 'D';
	case MASK_DIGITS: return typclass == 'S' || typclass == 'N';
	default: return typclass == 'S';
	}
}

/* ---- fake values ---- */

static const char *const first_names[] = {
	"Alex",	 "Blair", "Casey", "Dana",  "Eli",   "Frankie", "Gray",	 "Harper", "Indy",  "Jules",
	"Kai",	 "Lee",	  "Morgan", "Noa",  "Oakley", "Parker", "Quinn", "Riley",  "Sage",  "Taylor",
	"Uma",	 "Val",	  "Wren",  "Xen",   "Yael",  "Zion",	"Ari",	 "Bo",	   "Cruz",  "Drew",
	"Emery", "Finn",
};
static const char *const last_names[] = {
	"Abbott", "Baker",   "Carver", "Dalton", "Ellis",  "Fischer", "Grant", "Hayes",
	"Ingram", "Jensen",  "Keller", "Lowell", "Mercer", "Nolan",   "Ortiz", "Pryor",
	"Quincy", "Ramsey",  "Sutton", "Thorne", "Upton",  "Vance",   "Walsh", "Xiong",
	"Young",  "Zamora",  "Archer", "Bishop", "Coyle",  "Dunn",    "Eaton", "Frost",
};

/* Formatting by hand: these run for every masked value, and printf's
 * machinery cost more than the HMAC itself. */
static void add_hex_byte(struct buf *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	buf_addc(out, hex[c >> 4]);
	buf_addc(out, hex[c & 15]);
}

/* add_two_digits: v (0..99) as two digits, zero-padded. */
static void add_two_digits(struct buf *out, unsigned v)
{
	buf_addc(out, (char)('0' + v / 10 % 10));
	buf_addc(out, (char)('0' + v % 10));
}

static void digest(const struct hmac_sha256_key *key, const char *tag, const char *val, size_t len,
		   unsigned char d[SHA256_LEN])
{
	char head[40]; /* "tag|": the tags are short words */
	size_t n = strlen(tag);
	if (n > sizeof(head) - 2)
		n = sizeof(head) - 2;
	memcpy(head, tag, n);
	head[n++] = '|';
	hmac_sha256_with(key, head, n, val, len, d);
}

/* normalised: lower-case, trimmed copy, so "A@x.com " and "a@x.com" agree. */
static char *normalised(const char *val, size_t len, size_t *outlen)
{
	while (len && isspace((unsigned char)*val))
		val++, len--;
	while (len && isspace((unsigned char)val[len - 1]))
		len--;
	char *s = xstrndup(val, len);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	*outlen = len;
	return s;
}

static void add_hex(struct buf *out, const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_hex_byte(out, d[i]);
}

/* digits: every ASCII digit replaced by one drawn from the value's HMAC
 * stream; everything else (+, -, spaces, letters) kept, so formats hold. */
static void mask_digits(const struct hmac_sha256_key *key, const char *val, size_t len,
			struct buf *out)
{
	unsigned char d[SHA256_LEN];
	size_t used = SHA256_LEN, round = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)val[i])) {
			buf_addc(out, val[i]);
			continue;
		}
		if (used == SHA256_LEN) {
			char tag[32]; /* once per 32 digits: printf is no cost here */
			snprintf(tag, sizeof(tag), "digits%zu", round++);
			digest(key, tag, val, len, d);
			used = 0;
		}
		buf_addc(out, (char)('0' + d[used++] % 10));
	}
}

/* date: the same year, a day of it chosen by the HMAC (PostgreSQL's
 * ISO output "YYYY-MM-DD..."; the time part, if any, is kept). */
static void mask_date(const struct hmac_sha256_key *key, const char *val, size_t len,
		      struct buf *out)
{
	unsigned char d[SHA256_LEN];
	if (len < 10 || val[4] != '-' || val[7] != '-') { /* infinity, BC dates: as they are */
		buf_add(out, val, len);
		return;
	}
	digest(key, "date", val, 10, d);
	buf_add(out, val, 4);
	buf_addc(out, '-');
	add_two_digits(out, 1 + d[0] % 12u);
	buf_addc(out, '-');
	add_two_digits(out, 1 + d[1] % 28u);
	buf_add(out, val + 10, len - 10);
}

/* utf8_cut: out cut to at most n characters. */
static void utf8_cut(struct buf *out, size_t start, int n)
{
	size_t i = start;
	for (int c = 0; i < out->len && c < n; c++) {
		i++;
		while (i < out->len && ((unsigned char)out->s[i] & 0xC0) == 0x80)
			i++;
	}
	out->len = i;
	out->s[i] = '\0';
}

bool mask_apply(const struct hmac_sha256_key *key, const struct mask_rule *r, const char *val,
		size_t len, int maxlen, struct buf *out)
{
	unsigned char d[SHA256_LEN];
	size_t start = out->len, nlen;
	char *norm;
	switch (r->kind) {
	case MASK_KEEP: buf_add(out, val, len); return true;
	case MASK_NULL: return false;
	case MASK_FIXED: buf_adds(out, r->fixed); return true;
	case MASK_HASH:
		digest(key, "hash", val, len, d);
		add_hex(out, d, SHA256_LEN);
		break;
	case MASK_EMAIL:
		norm = normalised(val, len, &nlen);
		digest(key, "email", norm, nlen, d);
		free(norm);
		buf_addc(out, 'u');
		add_hex(out, d, 8);
		buf_adds(out, "@example.invalid");
		break;
	case MASK_NAME:
		norm = normalised(val, len, &nlen);
		digest(key, "name", norm, nlen, d);
		free(norm);
		buf_adds(out, first_names[d[0] % 32]);
		buf_addc(out, ' ');
		buf_adds(out, last_names[d[1] % 32]);
		buf_addc(out, '-');
		/* four hex digits: bytes 8 and 9, the low 16 bits of the
		 * big-endian 64-bit number at d + 2 the first releases printed */
		add_hex_byte(out, d[8]);
		add_hex_byte(out, d[9]);
		break;
	case MASK_DIGITS: mask_digits(key, val, len, out); break;
	case MASK_IP:
		digest(key, "ip", val, len, d);
		/* 10.0.0.0/8 for IPv4 and fd00::/8 for IPv6: private, never routable */
		if (memchr(val, ':', len)) { /* fdXX:XXXX:XXXX::XXXX */
			buf_adds(out, "fd");
			for (int i = 0; i < 7; i++) {
				if (i == 1 || i == 3)
					buf_addc(out, ':');
				else if (i == 5)
					buf_adds(out, "::");
				add_hex_byte(out, d[i]);
			}
		} else {
			buf_adds(out, "10.");
			buf_add_int(out, d[0]);
			buf_addc(out, '.');
			buf_add_int(out, d[1]);
			buf_addc(out, '.');
			buf_add_int(out, d[2]);
		}
		return true;
	case MASK_DATE: mask_date(key, val, len, out); return true;
	}
	if (maxlen > 0)
		utf8_cut(out, start, maxlen);
	return true;
}
