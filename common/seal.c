/* seal: see seal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "msg.h"
#include "nd.h"
#include "seal.h"
#include "sha256.h"
#include "xalloc.h"

static char *key_dir(void)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (state && *state == '/')
		return xasprintf("%s/migsafe", state);
	if (home && *home == '/')
		return xasprintf("%s/.local/state/migsafe", home);
	return NULL;
}

/* mkdir -p, the last component 0700. */
static int make_dirs(const char *dir)
{
	char *p = xstrdup(dir);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return rc;
}

char *seal_random_hex(size_t bytes)
{
	unsigned char raw[64];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	bool got = bytes <= sizeof(raw) && fd >= 0 && read(fd, raw, bytes) == (ssize_t)bytes;
	if (fd >= 0)
		close(fd);
	if (!got)
		return NULL;
	char *hex = xmalloc(2 * bytes + 1);
	for (size_t i = 0; i < bytes; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return hex;
}

static int create_key_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1; /* another run made it first */
	char *hex = seal_random_hex(SEAL_KEY_LEN);
	if (!hex) {
		close(fd);
		unlink(path);
		return -1;
	}
	size_t n = strlen(hex);
	bool ok = write(fd, hex, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
	free(hex);
	return close(fd) == 0 && ok ? 0 : -1;
}

static int read_key_file(const char *path, unsigned char key[SEAL_KEY_LEN], char **why)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*why = xasprintf("no seal key: %s: %s (set MIGSAFE_SEAL_KEY, or run mkshadow first)", path,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		*why = xasprintf("seal key %s must be a regular file of yours that nobody else can read", path);
		return -1;
	}
	char text[256];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 16) {
		*why = xasprintf("seal key %s is too short", path);
		return -1;
	}
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	sha256(text, strlen(text), key);
	return 0;
}

int seal_key(bool create, unsigned char key[SEAL_KEY_LEN], char **why)
{
	const char *env = getenv("MIGSAFE_SEAL_KEY");
	*why = NULL;
	if (env && *env) {
		sha256(env, strlen(env), key);
		return 0;
	}
	char *dir = key_dir();
	if (!dir) {
		*why = xstrdup("no seal key: set MIGSAFE_SEAL_KEY (no HOME or XDG_STATE_HOME for a key file)");
		return -1;
	}
	char *path = xasprintf("%s/seal.key", dir);
	if (create && (make_dirs(dir) < 0 || create_key_file(path) < 0)) {
		*why = xasprintf("cannot create the seal key %s: %s", path, strerror(errno));
		free(dir), free(path);
		return -1;
	}
	int rc = read_key_file(path, key, why);
	free(dir), free(path);
	return rc;
}

char *seal_of(const unsigned char key[SEAL_KEY_LEN], const char *kind, const char *a, const char *b,
	      const char *c)
{
	struct buf m = BUF_INIT;
	buf_init(&m);
	/* each part's length first: no two identities give the same text */
	const char *parts[] = {"migsafe shadow seal v1", kind, a, b, c};
	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++)
		buf_addf(&m, "%zu:%s;", parts[i] ? strlen(parts[i]) : 0, parts[i] ? parts[i] : "");
	unsigned char mac[SHA256_LEN];
	hmac_sha256(key, SEAL_KEY_LEN, m.s, m.len, mac);
	buf_release(&m);
	char *hex = xmalloc(2 * SHA256_LEN + 1);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return hex;
}

bool seal_equal(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	size_t n = strlen(a);
	if (n != strlen(b))
		return false;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

bool seal_mark_ok(const char *mark, const char *expected)
{
	static const char prefix[] = "migsafe shadow ";
	if (!mark || strncmp(mark, prefix, sizeof(prefix) - 1))
		return false;
	cJSON *o = cJSON_Parse(mark + sizeof(prefix) - 1);
	bool ok = seal_equal(nd_get_str(o, "seal"), expected);
	cJSON_Delete(o);
	return ok;
}
