/* wfile: files written whole, never through a symbolic link (see wfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"
#include "wfile.h"
#include "xalloc.h"

/* write_all: len bytes to fd, through short writes and signals */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* open_dir: the directory that holds path, and in *base the last component
 * of path; -1 (errno set) when there is none (a path ending in '/'). */
static int open_dir(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, ".."))
		return errno = EISDIR, -1;
	char *dir = !slash ? xstrdup(".") : slash == path ? xstrdup("/")
							  : xstrndup(path, (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return fd;
}

/* check_target: base in dfd may be replaced; *mode is its mode (or -1) */
static int check_target(int dfd, const char *base, int flags, int *mode)
{
	struct stat st;
	*mode = -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISLNK(st.st_mode))
		return errno = ELOOP, -1;
	if (!S_ISREG(st.st_mode))
		return errno = EINVAL, -1;
	if (flags & WFILE_NEW)
		return errno = EEXIST, -1;
	*mode = (int)(st.st_mode & 07777);
	return 0;
}

/* create_temp: a new file in dfd under a random name (in tmp, room for
 * NAME_MAX + 1 bytes), created exclusively; its descriptor or -1 */
static int create_temp(int dfd, const char *base, char *tmp, size_t tmplen)
{
	for (int tries = 0; tries < 16; tries++) {
		unsigned char raw[16];
		char hex[33];
		if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
			return -1;
		for (size_t i = 0; i < sizeof raw; i++)
			snprintf(hex + 2 * i, 3, "%02x", raw[i]);
		/* a long name is shortened: the random part is what matters */
		snprintf(tmp, tmplen, ".%.180s.%s.tmp", base, hex);
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* put_in_place: tmp becomes base, atomically; with WFILE_NEW only if base
 * does not exist (renameat2's RENAME_NOREPLACE, or link where a file
 * system lacks it) */
static int put_in_place(int dfd, const char *tmp, const char *base, int flags)
{
	if (!(flags & WFILE_NEW))
		return renameat(dfd, tmp, dfd, base);
	if (renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(dfd, tmp, dfd, base, 0) != 0)
		return -1;
	unlinkat(dfd, tmp, 0);
	return 0;
}

/* fill_temp: the bytes into fd, with mode (unless -1), on disk; closes fd */
static int fill_temp(int fd, const void *data, size_t len, int mode)
{
	bool ok = write_all(fd, data, len) == 0 && (mode < 0 || fchmod(fd, (mode_t)mode) == 0) && fsync(fd) == 0;
	int e = errno;
	if (close(fd) != 0 && ok)
		return -1;
	errno = e;
	return ok ? 0 : -1;
}

int wfile_write(const char *path, const void *data, size_t len, int flags)
{
	const char *base;
	char tmp[256];
	int mode, dfd = open_dir(path, &base);
	if (dfd < 0)
		return -1;
	int fd = -1;
	if (check_target(dfd, base, flags, &mode) != 0 || (fd = create_temp(dfd, base, tmp, sizeof tmp)) < 0)
		goto fail;
	if (fill_temp(fd, data, len, mode) != 0 || put_in_place(dfd, tmp, base, flags) != 0) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		errno = e;
		goto fail;
	}
	(void)fsync(dfd); /* the rename on disk too; a file system may refuse */
	close(dfd);
	return 0;
fail : {
	int e = errno;
	close(dfd);
	errno = e;
	return -1;
}
}

int wfile_append(const char *path, const void *data, size_t len)
{
	/* O_NONBLOCK: a FIFO planted there must not hang the open */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errno = EINVAL, -1;
	}
	bool ok = write_all(fd, data, len) == 0;
	int e = errno;
	if (close(fd) != 0 && ok)
		return -1;
	errno = e;
	return ok ? 0 : -1;
}

const char *wfile_why(int err)
{
	switch (err) {
	case ELOOP: return "is a symbolic link: refused, nothing written";
	case EINVAL: return "is not a regular file: refused, nothing written";
	case EEXIST: return "exists already: not overwritten";
	default: return strerror(err);
	}
}

struct msg_err *wfile_error(struct msg_err *e, const char *path, int err)
{
	bool refused = err == ELOOP || err == EINVAL || err == EEXIST;
	err_set(e, refused ? EXIT_INPUT : EXIT_RUNTIME, "%s: %s", path, wfile_why(err));
	return e;
}
