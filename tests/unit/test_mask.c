/* Unit tests for mkshadow's masking rules (cmd/mkshadow/mask.c): under a
 * fixed key each rule gives the value an independent HMAC-SHA256 (Python's
 * hmac module) gives, so a masked value is the same from one release (and
 * one SHA-256 block function) to the next; normalisation makes equal emails
 * and names agree; the digit rule keeps the format; varchar cuts hold.
 * Then recognition: names in any case, with any separators and as
 * compounds (and not "emailed_at", a timestamp); items of personal data
 * found in text (Luhn and mod-97 checked; dates and times are not
 * phones); arrays and JSON walked with their structure kept. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/mkshadow/mkshadow.h"
#include "tap.h"

static void check(const struct hmac_sha256_key *k, const char *rule, const char *val, int maxlen,
		  const char *want)
{
	struct mask_rule r;
	struct buf out = BUF_INIT;
	char name[160];
	OK(mask_parse_rule(rule, &r) == 0, "rule %s parses", rule);
	bool notnull = mask_apply(k, &r, val, strlen(val), maxlen, &out);
	snprintf(name, sizeof(name), "%s of '%s'", rule, val);
	IS_STR(notnull ? (out.s ? out.s : "") : NULL, want, name);
	buf_release(&out);
	free(r.fixed);
}

static void norm(const char *name, const char *want)
{
	char n[64];
	mask_name_norm(name, n, sizeof(n));
	IS_STR(n, want, name);
}

static void guess(const char *table, const char *col, char cls, enum mask_kind want)
{
	enum mask_kind k = mask_guess(table, col, cls);
	OK(k == want, "%s.%s (%c) is %s (got %s)", table, col, cls, mask_kind_name(want), mask_kind_name(k));
}

static void detect(const char *val, enum mask_kind want)
{
	enum mask_kind k = mask_detect(val, strlen(val));
	OK(k == want, "'%s' is %s (got %s)", val, mask_kind_name(want), mask_kind_name(k));
}

/* value: val under a rule of kind, shape and scan; the result (static) */
static const char *value(const struct hmac_sha256_key *k, enum mask_kind kind, enum mask_shape shape,
			 bool scan, const char *val, bool *found)
{
	static struct buf out = BUF_INIT;
	struct mask_rule r = {.kind = kind, .shape = shape, .scan = scan};
	buf_reset(&out);
	bool f;
	mask_value(k, &r, val, strlen(val), 0, &out, found ? found : &f);
	return out.s ? out.s : "";
}

/* shape_of: s with letters as 'a', digits as '9' */
static void shape_of(const char *s, char *out)
{
	for (; *s; s++)
		*out++ = isalpha((unsigned char)*s) ? 'a' : isdigit((unsigned char)*s) ? '9'
										       : *s;
	*out = '\0';
}

static void names(void)
{
	norm("E-Mail", "e_mail");
	norm("emailAddress", "email_address");
	norm("PhoneNumber", "phone_number");
	norm("HTTPServer2", "http_server_2");
	norm("user.SSN", "user_ssn");
	norm("__Last  Name__", "last_name");
	guess("users", "contactemail", 'S', MASK_EMAIL);
	guess("users", "E-Mail", 'S', MASK_EMAIL);
	guess("users", "emailAddress", 'S', MASK_EMAIL);
	guess("users", "PhoneNumber", 'S', MASK_DIGITS);
	guess("users", "homephone", 'S', MASK_DIGITS);
	guess("users", "billingaddress", 'S', MASK_HASH);
	guess("users", "user_ssn", 'S', MASK_DIGITS);
	guess("users", "UserSSN", 'S', MASK_DIGITS);
	guess("users", "workEmails", 'S', MASK_EMAIL);
	guess("Customers", "Name", 'S', MASK_NAME);
	guess("users", "emailed_at", 'D', MASK_KEEP); /* a date: type decides */
	guess("users", "emailed_by", 'S', MASK_KEEP); /* "emailed" is no compound of email */
	guess("hotels", "hotel", 'S', MASK_KEEP);     /* short words match whole only */
	guess("trips", "japan_trip", 'S', MASK_KEEP);
	guess("users", "phone", 'N', MASK_DIGITS); /* a bigint phone */
	guess("users", "SSN", 'N', MASK_DIGITS);
	guess("users", "tax_id", 'N', MASK_DIGITS);
	guess("orders", "card_id", 'N', MASK_KEEP); /* a key, not a card number */
	guess("orders", "phone_count", 'N', MASK_DIGITS);
	guess("orders", "total", 'N', MASK_KEEP);
}

static void content(void)
{
	detect("bob.smith+x@mail.example.com", MASK_EMAIL);
	detect(" Bob@Example.COM ", MASK_EMAIL);
	detect("+1 (555) 123-4567", MASK_DIGITS);
	detect("555-123-4567", MASK_DIGITS);
	detect("4111 1111 1111 1111", MASK_DIGITS); /* Luhn holds */
	detect("4111111111111111", MASK_DIGITS);
	detect("4111 1111 1111 1112", MASK_KEEP); /* Luhn fails */
	detect("GB82 WEST 1234 5698 7654 32", MASK_DIGITS);
	detect("DE89370400440532013000", MASK_DIGITS);
	detect("GB83 WEST 1234 5698 7654 32", MASK_KEEP); /* mod 97 fails */
	detect("078-05-1120", MASK_DIGITS);
	detect("192.168.10.20", MASK_IP);
	detect("2001:db8::1", MASK_IP);
	detect("300.1.1.1", MASK_KEEP);
	detect("2024-01-15", MASK_KEEP);
	detect("2024-01-15 10:30:00", MASK_KEEP);
	detect("12:30:45", MASK_KEEP);
	detect("order 1234567", MASK_KEEP);
	detect("1234567", MASK_KEEP);
	detect("v1.2.3", MASK_KEEP);
	detect("", MASK_KEEP);
}

static void walks(const struct hmac_sha256_key *k)
{
	bool found;
	const char *note = "mail bob@example.com, card 4111 1111 1111 1111 thanks";
	const char *v = value(k, MASK_KEEP, MASK_WHOLE, true, note, &found);
	OK(found && !strstr(v, "bob@example.com") && !strstr(v, "4111 1111 1111 1111"), "free text: items masked: %s", v);
	OK(!strncmp(v, "mail u", 6) && strstr(v, "@example.invalid, card ") && strstr(v, " thanks"),
	   "free text: the rest kept: %s", v);
	IS_STR(value(k, MASK_KEEP, MASK_WHOLE, true, "nothing here", &found), "nothing here", "clean text kept");
	OK(!found, "clean text: nothing found");
	IS_STR(value(k, MASK_HASH, MASK_WHOLE, true, "alice@example.com", NULL), "u42d38793b4683a39@example.invalid",
	       "deny: a value that is an e-mail address whole takes the email rule");
	IS_STR(value(k, MASK_HASH, MASK_WHOLE, true, "221B Baker Street", NULL),
	       "1e4834fe348ae65033899512c3133db433b9f992f1f98f3ca02f13ab216c5768", "deny: any other value is hashed");
	v = value(k, MASK_KEEP, MASK_ARRAY, true, "{alice@example.com,\"x, y\",NULL,\"q\\\"\"}", &found);
	IS_STR(v, "{\"u42d38793b4683a39@example.invalid\",\"x, y\",NULL,\"q\\\"\"}", "text[]: elements masked, NULL and quoting kept");
	v = value(k, MASK_EMAIL, MASK_ARRAY, false, "{{a@x.org,b@y.org},{c@z.org,NULL}}", &found);
	OK(found && !strstr(v, "a@x.org") && strstr(v, "}},") == NULL && v[0] == '{' && v[1] == '{', "2-d text[]: %s", v);
	const char *js = "{\"who\": {\"mail\": \"ann@corp.example\", \"n\": 5, \"tags\": [\"vip\", \"x\\u00e9\"]},"
			 " \"phones\": [\"+44 20 7946 0958\"], \"phone\": 15551234567, \"ann@corp.example\": true}";
	v = value(k, MASK_KEEP, MASK_JSON, true, js, &found);
	cJSON *j = cJSON_Parse(v);
	OK(found && j, "json: still JSON: %s", v);
	OK(!strstr(v, "ann@corp.example") && !strstr(v, "7946") && !strstr(v, "15551234567"), "json: no original item");
	OK(strstr(v, "\"n\": 5") && strstr(v, "\"vip\"") && strstr(v, "\"x\\u00e9\""), "json: the rest kept as it was");
	cJSON *ph = cJSON_GetObjectItem(j, "phone");
	OK(cJSON_IsNumber(ph) && ph->valuedouble >= 1e10, "json: a phone number stays a number of its digits");
	cJSON_Delete(j);
}

static void digit_rule(const struct hmac_sha256_key *k)
{
	char a[64], b[64];
	const char *v = value(k, MASK_DIGITS, MASK_WHOLE, false, "SW1A 1AA", NULL);
	shape_of(v, a);
	IS_STR(a, "aa9a 9aa", "digits: a postcode's shape kept");
	OK(strncmp(v, "SW", 2) && strcmp(v + 5, "AA"), "digits: its letters replaced too: %s", v);
	v = value(k, MASK_DIGITS, MASK_WHOLE, false, "GB82WEST12345698765432", NULL);
	OK(!strstr(v, "WEST") && !strstr(v, "GB82"), "digits: an IBAN keeps no letters: %s", v);
	struct mask_rule r = {.kind = MASK_DIGITS, .numeric = true};
	struct buf out = BUF_INIT;
	bool f;
	int above = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(a, sizeof(a), "%d", 2147483647 - i * 7919);
		buf_reset(&out);
		mask_value(k, &r, a, strlen(a), 0, &out, &f);
		snprintf(b, sizeof(b), "%s", out.s);
		above += strtoll(b, NULL, 10) > strtoll(a, NULL, 10) || strlen(b) != strlen(a);
	}
	OK(above == 0, "digits of an integer: never above the original, so the type holds");
	buf_release(&out);
}

int main(void)
{
	struct hmac_sha256_key k;
	hmac_sha256_key_init(&k, "unit-test-key", 13);
	check(&k, "hash", "221B Baker Street", 0, "1e4834fe348ae65033899512c3133db433b9f992f1f98f3ca02f13ab216c5768");
	check(&k, "email", "alice@example.com", 0, "u42d38793b4683a39@example.invalid");
	check(&k, "email", "  Alice@Example.COM ", 0, "u42d38793b4683a39@example.invalid");
	check(&k, "name", "Ada Lovelace", 0, "Drew Grant-231c");
	check(&k, "name", "Ada Lovelace", 6, "Drew G");
	check(&k, "digits", "+44 20-7946 0958", 0, "+17 73-7080 8323");
	check(&k, "ip", "192.0.2.7", 0, "10.188.184.147");
	check(&k, "date", "1990-05-17 12:00:00", 0, "1990-10-08 12:00:00");
	/* the same values from Python's hmac: an IPv6 address, more digits than
	 * one HMAC gives (a second round, "digits1"), another name and date */
	check(&k, "ip", "2001:db8::1", 0, "fd1f:0cda:eb88::511a");
	check(&k, "digits", "1234567890123456789012345678901234567890", 0,
	      "5022000784121378929978633570445319546263");
	check(&k, "name", "Grace Hopper", 0, "Quinn Ellis-167b");
	check(&k, "date", "2001-01-02", 0, "2001-07-18");
	check(&k, "fixed:n/a", "anything", 0, "n/a");
	check(&k, "null", "anything", 0, NULL);
	check(&k, "keep", "as is", 0, "as is");
	check(&k, "hash", "", 0, "0041d520be1ece05f7a7765a3b1e118e0dc831341c087a530ef7c0f7ecbe0894");
	names();
	content();
	walks(&k);
	digit_rule(&k);
	return tap_done();
}
