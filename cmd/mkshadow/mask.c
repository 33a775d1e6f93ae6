/*
 * mask: personal data recognised by column name, type and content, and the
 * masking rules. Every rule is deterministic under the run's key
 * (HMAC-SHA256 of a rule tag and the normalised value), so equal inputs
 * give equal outputs in every table: joins hold, and unique values stay
 * unique (up to the 64 bits of hash that a fake email or a hash keeps).
 *
 * Names are compared normalised (lower case, words joined by '_'), so
 * "E-Mail", "emailAddress" and "contact_email" agree, and known words are
 * found inside compounds ("contactemail"). Type decides too: "emailed_at"
 * is a timestamp, so it is no e-mail address. Content scanning finds
 * e-mail addresses, phone numbers, card numbers (Luhn), IBANs (mod 97),
 * US social security numbers and IP addresses inside any text, value by
 * value as rows stream, so a clean first row proves nothing.
 */
#include <arpa/inet.h>
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

const char *mask_why_name(enum mask_why w)
{
	static const char *const n[] = {NULL, "name", "type", "content", "deny-default", "explicit",
					"foreign-key"};
	return n[w];
}

int mask_parse_rule(const char *s, struct mask_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->why = MASK_WHY_EXPLICIT;
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

bool mask_active(const struct mask_rule *r)
{
	return r->kind != MASK_KEEP || r->scan || r->shape != MASK_WHOLE;
}

/* ---- names ---- */

static bool is_sep(char c)
{
	return c == '_' || c == '-' || c == ' ' || c == '.';
}

/* word_break: a new word starts at name[i] (not a separator). */
static bool word_break(const char *name, size_t i)
{
	unsigned char a = (unsigned char)name[i - 1], b = (unsigned char)name[i];
	if (isdigit(a) != isdigit(b) && isalnum(a) && isalnum(b))
		return true; /* "address1", "4last" */
	if (islower(a) && isupper(b))
		return true; /* "emailAddress" */
	/* "HTTPServer": the last capital of a run starts the next word */
	return isupper(a) && isupper(b) && islower((unsigned char)name[i + 1]);
}

void mask_name_norm(const char *name, char *out, size_t cap)
{
	size_t n = 0;
	bool sep = false;
	for (size_t i = 0; name[i] && n + 2 < cap; i++) {
		if (is_sep(name[i])) {
			sep = n > 0;
			continue;
		}
		if (n && (sep || word_break(name, i)))
			out[n++] = '_';
		sep = false;
		out[n++] = (char)tolower((unsigned char)name[i]);
	}
	out[n] = '\0';
}

/* has_word: name (normalised) holds w as whole words ("first_name" in
 * "contact_first_name"). */
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

/* compound_tail: what may follow a known word inside one word: nothing,
 * a plural, or a word that keeps the meaning ("emailaddress", "phoneno"). */
static bool compound_tail(const char *t, size_t n)
{
	static const char *const tails[] = {"s", "es", "address", "addr", "number", "num", "no", "nr",
					    "hash", "line", "list", "value", "text", NULL};
	if (n == 0)
		return true;
	for (const char *const *p = tails; *p; p++)
		if (strlen(*p) == n && !strncmp(t, *p, n))
			return true;
	return false;
}

/* in_compound: one word of name holds w (5 letters or more, one word)
 * followed by a compound_tail: "contactemail", "homephones"; "emailed" is
 * not "email" and "hotel" is not "tel" (short words match whole only). */
static bool in_compound(const char *name, const char *w)
{
	size_t n = strlen(w);
	if (n < 5 || strchr(w, '_'))
		return false;
	for (const char *p = name; (p = strstr(p, w)); p++) {
		size_t rest = strcspn(p + n, "_");
		if (compound_tail(p + n, rest))
			return true;
	}
	return false;
}

static bool any_word(const char *name, const char *const *words)
{
	for (; *words; words++)
		if (has_word(name, *words) || in_compound(name, *words))
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
	char n[128];
	mask_name_norm(t, n, sizeof(n));
	return any_word(n, w);
}

static const char *const email_words[] = {"email", "mail", "e_mail", "emailaddress", NULL};
static const char *const phone_words[] = {"phone", "mobile", "cell", "fax", "tel", "telephone",
					  "msisdn", "phonenumber", NULL};
static const char *const id_words[] = {"ssn", "national_id", "nin", "tax_id", "taxid", "passport",
				       "iban", "social_security", "driver_license", "zip",
				       "postal_code", "postcode", "zipcode", "tin", "vat_id", NULL};
static const char *const card_words[] = {"card", "card_number", "cc_number", "pan", "cvv",
					 "card_last4", "last4", "last_4", NULL};

/* number_pii: a numeric column named like a phone, card or id number
 * (a "card_id" or "phone_id" is a row's key, not a number to hide). */
static bool number_pii(const char *n)
{
	static const char *const ids[] = {"national_id", "tax_id", "taxid", "vat_id", NULL};
	size_t len = strlen(n);
	bool key = (len >= 3 && !strcmp(n + len - 3, "_id")) || !strcmp(n, "id") ||
		   (len >= 4 && !strcmp(n + len - 4, "_ids"));
	if (key)
		return any_word(n, ids);
	return any_word(n, phone_words) || any_word(n, id_words) || any_word(n, card_words);
}

/* text_guess: the rule for a text column named n (normalised). */
static enum mask_kind text_guess(const char *table, const char *n)
{
	static const char *const names[] = {"firstname", "lastname", "fullname", "surname",
					    "given_name", "family_name", "middle_name",
					    "display_name", "contact_name", "customer_name",
					    "first_name", "last_name", "full_name", "maiden_name",
					    "nickname", NULL};
	static const char *const addr[] = {"address", "street", "addr", "address_1", "address_2",
					   "address_line_1", "address_line_2", NULL};
	static const char *const secret[] = {"token", "password", "passwd", "secret", "api_key",
					     "apikey", "password_hash", "pass_hash", "salt",
					     "otp", "session", NULL};
	if (any_word(n, email_words))
		return MASK_EMAIL;
	if (any_word(n, secret)) /* before card: a card_token is a secret, not digits */
		return MASK_HASH;
	if (any_word(n, phone_words) || any_word(n, id_words) || any_word(n, card_words))
		return MASK_DIGITS;
	if (any_word(n, names) || (!strcmp(n, "name") && person_table(table)))
		return MASK_NAME;
	if (any_word(n, addr))
		return MASK_HASH;
	return MASK_KEEP;
}

enum mask_kind mask_guess(const char *table, const char *column, char typclass)
{
	static const char *const ip[] = {"ip", "ip_address", "ipaddress", "remote_addr", "client_ip",
					 "last_ip", "last_login_ip", NULL};
	static const char *const birth[] = {"birth", "birthday", "dob", "birth_date", "birthdate",
					    "date_of_birth", NULL};
	char lc[128];
	mask_name_norm(column, lc, sizeof(lc));
	bool text = typclass == 'S';
	if (any_word(lc, ip))
		return typclass == 'I' ? MASK_IP : text ? MASK_DIGITS
							: MASK_KEEP;
	if (any_word(lc, birth))
		return typclass == 'D' ? MASK_DATE : text ? MASK_DIGITS
							  : MASK_KEEP;
	if (typclass == 'N')
		return number_pii(lc) ? MASK_DIGITS : MASK_KEEP;
	return text ? text_guess(table, lc) : MASK_KEEP;
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

/* ---- columns ---- */

/* text_array: type (format_type's spelling) is an array of a text type. */
static bool text_array(const char *type)
{
	static const char *const el[] = {"text[]", "character varying", "character(", "character[]",
					 "citext[]", "name[]", NULL};
	size_t n = strlen(type);
	if (n < 3 || strcmp(type + n - 2, "[]"))
		return false;
	for (const char *const *p = el; *p; p++)
		if (!strncmp(type, *p, strlen(*p)))
			return true;
	return false;
}

static bool json_type(const char *type)
{
	return !strcmp(type, "json") || !strcmp(type, "jsonb");
}

bool mask_text_like(const struct column *c)
{
	return c->typclass == 'S' || text_array(c->type) || json_type(c->type);
}

void mask_auto(const char *table, struct column *c)
{
	struct mask_rule *r = &c->mask;
	bool walk = text_array(c->type) || json_type(c->type);
	enum mask_kind k = mask_guess(table, c->name, walk ? 'S' : c->typclass);
	if (!walk && k == MASK_KEEP)
		return;
	r->kind = k;
	r->automatic = true;
	r->why = k != MASK_KEEP ? MASK_WHY_NAME : MASK_WHY_TYPE;
	r->numeric = k == MASK_DIGITS && c->typclass == 'N';
	if (walk) {
		r->shape = json_type(c->type) ? MASK_JSON : MASK_ARRAY;
		r->scan = k == MASK_KEEP || r->shape == MASK_JSON;
	}
}

void mask_default(struct column *c, bool scan, bool deny)
{
	struct mask_rule *r = &c->mask;
	if (r->why != MASK_WHY_NONE || !mask_text_like(c) || !(scan || deny))
		return;
	r->shape = json_type(c->type) ? MASK_JSON : text_array(c->type) ? MASK_ARRAY
									: MASK_WHOLE;
	r->scan = true;
	r->automatic = true;
	r->kind = deny ? MASK_HASH : MASK_KEEP;
	r->why = deny ? MASK_WHY_DENY : r->shape != MASK_WHOLE ? MASK_WHY_TYPE
							       : MASK_WHY_CONTENT;
}

/* ---- fake values ---- */

static const char *const first_names[] = {
	"Alex",
	"Blair",
	"Casey",
	"Dana",
	"Eli",
	"Frankie",
	"Gray",
	"Harper",
	"Indy",
	"Jules",
	"Kai",
	"Lee",
	"Morgan",
	"Noa",
	"Oakley",
	"Parker",
	"Quinn",
	"Riley",
	"Sage",
	"Taylor",
	"Uma",
	"Val",
	"Wren",
	"Xen",
	"Yael",
	"Zion",
	"Ari",
	"Bo",
	"Cruz",
	"Drew",
	"Emery",
	"Finn",
};
static const char *const last_names[] = {
	"Abbott",
	"Baker",
	"Carver",
	"Dalton",
	"Ellis",
	"Fischer",
	"Grant",
	"Hayes",
	"Ingram",
	"Jensen",
	"Keller",
	"Lowell",
	"Mercer",
	"Nolan",
	"Ortiz",
	"Pryor",
	"Quincy",
	"Ramsey",
	"Sutton",
	"Thorne",
	"Upton",
	"Vance",
	"Walsh",
	"Xiong",
	"Young",
	"Zamora",
	"Archer",
	"Bishop",
	"Coyle",
	"Dunn",
	"Eaton",
	"Frost",
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
 * stream, and (in text) every ASCII letter by a letter of the same case, so
 * postcodes and IBANs keep nothing; everything else (+, -, spaces) kept,
 * so formats hold. numeric: a number's text (PostgreSQL's output of an
 * integer or numeric): letters kept (1e+10), and the result, digit by
 * digit, never above the original, so it fits the column's type. */
static void mask_digits(const struct hmac_sha256_key *key, const char *val, size_t len, bool numeric,
			struct buf *out)
{
	unsigned char d[SHA256_LEN];
	size_t used = SHA256_LEN, round = 0;
	bool below = false; /* numeric: an earlier digit is already smaller */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)val[i];
		bool letter = !numeric && isalpha(c) && c < 128;
		if (!isdigit(c) && !letter) {
			buf_addc(out, val[i]);
			continue;
		}
		if (used == SHA256_LEN) {
			char tag[32]; /* once per 32 characters: printf is no cost here */
			snprintf(tag, sizeof(tag), "digits%zu", round++);
			digest(key, tag, val, len, d);
			used = 0;
		}
		unsigned v = d[used++];
		if (letter) {
			buf_addc(out, (char)((isupper(c) ? 'A' : 'a') + v % 26));
		} else if (numeric && !below) {
			unsigned m = v % (unsigned)(c - '0' + 1);
			below = m < (unsigned)(c - '0');
			buf_addc(out, (char)('0' + m));
		} else {
			buf_addc(out, (char)('0' + v % 10));
		}
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
	case MASK_DIGITS: mask_digits(key, val, len, r->numeric, out); break;
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

/* ---- content: items of personal data inside text ---- */

/* Values are (pointer, length), not NUL-terminated strings: the scanners
 * below never read past len. */

/* run_of: how many of s's first len bytes, from the start, are in set
 * (in) or not in set (!in). */
static size_t run_of(const char *s, size_t len, const char *set, bool in)
{
	size_t i = 0;
	while (i < len && (strchr(set, s[i]) != NULL && s[i] != '\0') == in)
		i++;
	return i;
}

static bool local_char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("._%+-", c));
}

/* email_at: an e-mail address starting at s[i]; its end, or 0. */
static size_t email_at(const char *s, size_t len, size_t i)
{
	size_t j = i, dot = 0;
	while (j < len && local_char(s[j]) && s[j] != '@')
		j++;
	if (j == i || j + 1 >= len || s[j] != '@')
		return 0;
	size_t k = ++j;
	while (k < len && (isalnum((unsigned char)s[k]) || s[k] == '-' || s[k] == '.'))
		if (s[k++] == '.')
			dot = k;
	while (k > j && (s[k - 1] == '.' || s[k - 1] == '-'))
		k--;
	/* a dot inside the domain, and a last label of two letters or more */
	if (!dot || dot >= k || k - dot < 2 || !isalpha((unsigned char)s[dot]))
		return 0;
	return k;
}

static bool luhn(const char *digits, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v = (unsigned)(digits[n - 1 - i] - '0');
		if (i % 2) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* iban_valid: ISO 13616's check: the first four characters moved to the
 * end, letters as 10..35, the number mod 97 is 1. */
static bool iban_valid(const char *c, size_t n)
{
	unsigned r = 0;
	for (size_t k = 0; k < n; k++) {
		char ch = c[(k + 4) % n];
		unsigned v = isdigit((unsigned char)ch) ? (unsigned)(ch - '0') : (unsigned)(ch - 'A' + 10);
		r = v > 9 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
	}
	return r == 1;
}

/* iban_at: an IBAN (compact or in groups of four) starting at s[i]; its
 * end, or 0. The longest valid one wins. */
static size_t iban_at(const char *s, size_t len, size_t i)
{
	char c[40];
	size_t end[40], n = 0;
	if (i + 4 > len || !isupper((unsigned char)s[i]) || !isupper((unsigned char)s[i + 1]) ||
	    !isdigit((unsigned char)s[i + 2]) || !isdigit((unsigned char)s[i + 3]))
		return 0;
	for (size_t j = i; j < len && n < 34; j++) {
		unsigned char ch = (unsigned char)s[j];
		if (ch == ' ' && n % 4 == 0 && j + 1 < len && s[j + 1] != ' ')
			continue;
		if (!isdigit(ch) && !isupper(ch))
			break;
		c[n] = (char)ch;
		end[n++] = j + 1;
	}
	for (; n >= 15; n--)
		if ((end[n - 1] == len || !isalnum((unsigned char)s[end[n - 1]])) && iban_valid(c, n))
			return end[n - 1];
	return 0;
}

/* number_token: a run of digits with single separators (" -./()") between
 * them, from s[i] (a digit, or '+' or '(' before one); its end (after the
 * last digit, or a closing parenthesis), or 0. */
static size_t number_token(const char *s, size_t len, size_t i)
{
	size_t j = i, last = 0;
	if (s[j] == '+' || s[j] == '(')
		j++;
	while (j < len) {
		if (isdigit((unsigned char)s[j])) {
			last = ++j;
			continue;
		}
		size_t k = j;
		while (k < len && k - j < 2 && strchr(" -./()", s[k]))
			k++;
		if (k == j || k >= len || !isdigit((unsigned char)s[k]))
			break;
		j = k;
	}
	return last;
}

/* ipv4: t is a dotted quad, each part 0..255. */
static bool ipv4(const char *t, size_t n)
{
	char a[16];
	struct in_addr ia;
	if (n >= sizeof(a) || run_of(t, n, "0123456789.", true) < n)
		return false;
	memcpy(a, t, n);
	a[n] = '\0';
	return inet_pton(AF_INET, a, &ia) == 1;
}

/* date_like: t begins like a date (2024-01-15, 15/01/2024, 15.01.2024). */
static bool date_like(const char *t, size_t n)
{
	size_t g1 = run_of(t, n, "0123456789", true);
	if (g1 >= n || !strchr("-/.", t[g1]))
		return false;
	size_t g2 = run_of(t + g1 + 1, n - g1 - 1, "0123456789", true);
	return (g1 == 4 || g1 <= 2) && g2 >= 1 && g2 <= 2 && g1 + 1 + g2 < n && t[g1 + 1 + g2] == t[g1];
}

/* classify_number: what the number-like token t is. */
static enum mask_kind classify_number(const char *t, size_t n)
{
	char dg[64];
	size_t nd = 0, seps = 0;
	bool card_seps = true;
	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)t[i])) {
			if (nd < sizeof(dg))
				dg[nd++] = t[i];
		} else {
			seps++;
			card_seps = card_seps && (t[i] == ' ' || t[i] == '-');
		}
	}
	if (ipv4(t, n))
		return MASK_IP;
	if (n == 11 && t[3] == '-' && t[6] == '-' && nd == 9)
		return MASK_DIGITS; /* a US social security number */
	if (nd >= 13 && nd <= 19 && card_seps && luhn(dg, nd))
		return MASK_DIGITS; /* a card number */
	if (nd >= 7 && nd <= 15 && !date_like(t, n) &&
	    (t[0] == '+' || t[0] == '(' || seps >= 2))
		return MASK_DIGITS; /* a phone number */
	return MASK_KEEP;
}

/* ipv6_at: an IPv6 address starting at s[i]; its end, or 0. */
static size_t ipv6_at(const char *s, size_t len, size_t i)
{
	char a[64];
	size_t j = i, colons = 0, hex = 0;
	struct in6_addr ia;
	while (j < len && j - i < 45 && (isxdigit((unsigned char)s[j]) || s[j] == ':' || s[j] == '.')) {
		colons += s[j] == ':';
		hex += isxdigit((unsigned char)s[j]) != 0;
		j++;
	}
	while (j > i && s[j - 1] == '.')
		j--;
	if (colons < 2 || hex < 2 || (j < len && isalnum((unsigned char)s[j])))
		return 0;
	memcpy(a, s + i, j - i);
	a[j - i] = '\0';
	return inet_pton(AF_INET6, a, &ia) == 1 ? j : 0;
}

/* item_at: an item of personal data starting at s[i]: its end, and its
 * rule in *k; 0 when there is none. at: s holds an '@'. */
static size_t item_at(const char *s, size_t len, size_t i, bool at, enum mask_kind *k)
{
	char prev = i ? s[i - 1] : ' ';
	size_t e;
	if (at && !local_char(prev) && (e = email_at(s, len, i))) {
		*k = MASK_EMAIL;
		return e;
	}
	if (isalnum((unsigned char)prev) || prev == ':' || prev == '.')
		return 0;
	if ((e = iban_at(s, len, i))) {
		*k = MASK_DIGITS;
		return e;
	}
	if ((e = ipv6_at(s, len, i))) {
		*k = MASK_IP;
		return e;
	}
	bool num = isdigit((unsigned char)s[i]) ||
		   ((s[i] == '+' || s[i] == '(') && i + 1 < len && isdigit((unsigned char)s[i + 1]));
	if (num && (e = number_token(s, len, i)) && (e == len || !isalnum((unsigned char)s[e])) &&
	    (*k = classify_number(s + i, e - i)) != MASK_KEEP)
		return e;
	return 0;
}

static bool has_digit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)(s[i] - '0') < 10)
			return true;
	return false;
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

enum mask_kind mask_detect(const char *val, size_t len)
{
	enum mask_kind k = MASK_KEEP;
	trim(&val, &len);
	return len && item_at(val, len, 0, memchr(val, '@', len) != NULL, &k) == len ? k : MASK_KEEP;
}

bool mask_may_find(const char *s, size_t len)
{
	/* every item holds an '@' (e-mail) or a digit, but IPv6, which may
	 * hold only a colon and letters */
	return memchr(s, '@', len) || has_digit(s, len) || memchr(s, ':', len);
}

/* scan_spans: val with every item of personal data in it masked by its
 * rule, into out; how many items there were. */
static int scan_spans(const struct hmac_sha256_key *key, const char *val, size_t len, struct buf *out)
{
	int n = 0;
	size_t from = 0;
	bool at = memchr(val, '@', len) != NULL;
	if (!mask_may_find(val, len)) {
		buf_add(out, val, len);
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		struct mask_rule r = {0};
		if (i && isalnum((unsigned char)val[i - 1]))
			continue; /* no item starts inside a word */
		size_t e = item_at(val, len, i, at, &r.kind);
		if (!e)
			continue;
		buf_add(out, val + from, i - from);
		mask_apply(key, &r, val + i, e - i, 0, out);
		from = e;
		i = e - 1;
		n++;
	}
	buf_add(out, val + from, len - from);
	return n;
}

/* mask_text: one text (a whole value, an array element, a JSON string)
 * under r's kind and scan, into out; whether it changed. r's kind is not
 * NULL or FIXED. */
static bool mask_text(const struct hmac_sha256_key *key, const struct mask_rule *r, const char *val,
		      size_t len, struct buf *out)
{
	size_t start = out->len;
	if (r->scan && r->kind == MASK_KEEP) {
		if (scan_spans(key, val, len, out))
			return true;
		out->len = start;
		if (out->s)
			out->s[start] = '\0';
	} else if (r->scan) {
		struct mask_rule item = {0};
		item.kind = mask_detect(val, len);
		if (item.kind != MASK_KEEP)
			return mask_apply(key, &item, val, len, 0, out);
	}
	if (r->kind == MASK_KEEP) {
		buf_add(out, val, len);
		return false;
	}
	mask_apply(key, r, val, len, 0, out);
	return true;
}

/* ---- walking arrays and JSON ---- */

/* add_quoted_element: s as a quoted array element. */
static void add_quoted_element(struct buf *out, const char *s, size_t len)
{
	buf_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, s[i]);
	}
	buf_addc(out, '"');
}

/* mask_array: a text array's output ({a,"b c",NULL}, any dimensions, with
 * or without bounds) with each element masked; brackets, NULLs kept. */
static bool mask_array(const struct hmac_sha256_key *key, const struct mask_rule *r, const char *val,
		       size_t len, struct buf *out)
{
	struct buf el = BUF_INIT, m = BUF_INIT;
	bool found = false;
	size_t i = 0;
	buf_init(&el), buf_init(&m);
	if (len && val[0] == '[') { /* "[1:2]={...}" */
		const char *eq = memchr(val, '=', len);
		i = eq ? (size_t)(eq - val) + 1 : 0;
		buf_add(out, val, i);
	}
	while (i < len) {
		char c = val[i];
		if (c == '{' || c == '}' || c == ',' || isspace((unsigned char)c)) {
			buf_addc(out, c);
			i++;
			continue;
		}
		buf_reset(&el);
		if (c == '"') {
			for (i++; i < len && val[i] != '"'; i++)
				buf_addc(&el, val[i] == '\\' && i + 1 < len ? val[++i] : val[i]);
			i++;
		} else {
			size_t e = i + run_of(val + i, len - i, ",}", false);
			buf_add(&el, val + i, e - i);
			i = e;
			if (!strcasecmp(el.s, "NULL")) {
				buf_adds(out, "NULL");
				continue;
			}
		}
		buf_reset(&m);
		found |= mask_text(key, r, el.s, el.len, &m);
		add_quoted_element(out, m.s, m.len);
	}
	buf_release(&el), buf_release(&m);
	return found;
}

/* utf8_add: code point u as UTF-8. */
static void utf8_add(struct buf *out, unsigned long u)
{
	if (u < 0x80) {
		buf_addc(out, (char)u);
	} else if (u < 0x800) {
		buf_addc(out, (char)(0xC0 | u >> 6));
		buf_addc(out, (char)(0x80 | (u & 0x3F)));
	} else if (u < 0x10000) {
		buf_addc(out, (char)(0xE0 | u >> 12));
		buf_addc(out, (char)(0x80 | (u >> 6 & 0x3F)));
		buf_addc(out, (char)(0x80 | (u & 0x3F)));
	} else {
		buf_addc(out, (char)(0xF0 | u >> 18));
		buf_addc(out, (char)(0x80 | (u >> 12 & 0x3F)));
		buf_addc(out, (char)(0x80 | (u >> 6 & 0x3F)));
		buf_addc(out, (char)(0x80 | (u & 0x3F)));
	}
}

static unsigned long hex4(const char *s)
{
	char h[5] = {s[0], s[1], s[2], s[3], '\0'};
	return strtoul(h, NULL, 16);
}

/* json_string: the JSON string starting at s[i] ('"') decoded into out;
 * the index after its closing quote (len at most). */
static size_t json_string(const char *s, size_t len, size_t i, struct buf *out)
{
	for (i++; i < len && s[i] != '"'; i++) {
		if (s[i] != '\\' || i + 1 >= len) {
			buf_addc(out, s[i]);
			continue;
		}
		char c = s[++i];
		unsigned long u;
		switch (c) {
		case 'b': buf_addc(out, '\b'); break;
		case 'f': buf_addc(out, '\f'); break;
		case 'n': buf_addc(out, '\n'); break;
		case 'r': buf_addc(out, '\r'); break;
		case 't': buf_addc(out, '\t'); break;
		case 'u':
			if (i + 4 >= len)
				return len;
			u = hex4(s + i + 1);
			i += 4;
			if (u >= 0xD800 && u < 0xDC00 && i + 6 < len && s[i + 1] == '\\' && s[i + 2] == 'u') {
				unsigned long lo = hex4(s + i + 3);
				if (lo >= 0xDC00 && lo < 0xE000) {
					u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				}
			}
			utf8_add(out, u);
			break;
		default: buf_addc(out, c);
		}
	}
	return i < len ? i + 1 : len; /* an unterminated string ends the text */
}

static void json_quote(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	buf_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_addc(out, '\\');
			buf_addc(out, (char)c);
		} else if (c < 0x20) {
			buf_adds(out, "\\u00");
			buf_addc(out, hex[c >> 4]);
			buf_addc(out, hex[c & 15]);
		} else {
			buf_addc(out, (char)c);
		}
	}
	buf_addc(out, '"');
}

/* json_number: a number under a key named like a phone or id number: its
 * digits masked; a leading digit stays non-zero (and a lone 0 stays 0), so
 * the JSON stays valid. */
static void json_number(const struct hmac_sha256_key *key, const char *s, size_t len, struct buf *out)
{
	struct mask_rule r = {.kind = MASK_DIGITS};
	size_t start = out->len, lead = start + (len && s[0] == '-');
	mask_apply(key, &r, s, len, 0, out);
	if (lead + 1 < out->len && out->s[lead] == '0' && isdigit((unsigned char)out->s[lead + 1]))
		out->s[lead] = '1';
}

/* mask_json: a json/jsonb value's text with every string masked (by the
 * rule its key's name calls for, else r) and numbers under keys named like
 * phone or id numbers masked; keys, structure and spacing kept. Keys are
 * scanned (an e-mail address as a key is still one). */
static bool mask_json(const struct hmac_sha256_key *key, const struct mask_rule *r, const char *val,
		      size_t len, struct buf *out)
{
	struct buf s = BUF_INIT, m = BUF_INIT;
	bool found = false;
	enum mask_kind by_key = MASK_KEEP;
	buf_init(&s), buf_init(&m);
	for (size_t i = 0; i < len;) {
		char c = val[i];
		if (c == '"') {
			size_t start = i, j;
			buf_reset(&s);
			i = json_string(val, len, i, &s);
			for (j = i; j < len && isspace((unsigned char)val[j]);)
				j++;
			bool is_key = j < len && val[j] == ':';
			struct mask_rule leaf = *r;
			if (is_key) {
				by_key = mask_guess("", s.s, 'S');
				leaf.kind = MASK_KEEP, leaf.scan = true;
			} else if (by_key != MASK_KEEP) {
				leaf.kind = by_key, leaf.scan = false;
			}
			buf_reset(&m);
			if (mask_text(key, &leaf, s.s, s.len, &m)) {
				json_quote(out, m.s, m.len);
				found = true;
			} else {
				buf_add(out, val + start, i - start);
			}
		} else if (c == '-' || isdigit((unsigned char)c)) {
			size_t e = i + run_of(val + i, len - i, "-+0123456789.eE", true);
			if (by_key == MASK_DIGITS) {
				json_number(key, val + i, e - i, out);
				found = true;
			} else {
				buf_add(out, val + i, e - i);
			}
			i = e;
		} else {
			buf_addc(out, c);
			i++;
		}
	}
	buf_release(&s), buf_release(&m);
	return found;
}

bool mask_value(const struct hmac_sha256_key *key, const struct mask_rule *r, const char *val, size_t len,
		int maxlen, struct buf *out, bool *found)
{
	size_t start = out->len;
	*found = false;
	if (r->shape == MASK_ARRAY) {
		*found = mask_array(key, r, val, len, out);
		return true;
	}
	if (r->shape == MASK_JSON) {
		*found = mask_json(key, r, val, len, out);
		return true;
	}
	if (!r->scan)
		return mask_apply(key, r, val, len, maxlen, out);
	*found = mask_text(key, r, val, len, out);
	if (maxlen > 0)
		utf8_cut(out, start, maxlen);
	return true;
}
