/* mapfile: a file's text through a private mapping (see mapfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "mapfile.h"
#include "msg.h"

/* map_check: NUL bytes and UTF-8, a megabyte at a time, each dropped
 * after; a UTF-8 sequence cut by the megabyte's end is checked with the
 * next */
static int map_check(const char *path, struct mapped *m, struct msg_err *err)
{
	size_t valid = 0; /* text[0..valid) is UTF-8 */
	for (size_t off = 0, step = (size_t)1 << 20; off < m->len; off += step) {
		size_t upto = m->len - off < step ? m->len : off + step;
		if (memchr(m->text + off, '\0', upto - off))
			return err_set(err, EXIT_INPUT, "%s: binary file (NUL byte)", path);
		size_t bad = valid + utf8_invalid(m->text + valid, upto - valid);
		if (bad < upto && (upto == m->len || upto - bad >= 4) &&
		    text_check_utf8(path, m->text, bad, upto, err) < 0)
			return -1;
		valid = bad;
		map_drop(m, off, off + step);
	}
	return 0;
}

int map_file(const char *path, struct mapped *m, struct msg_err *err)
{
	struct stat sb;
	memset(m, 0, sizeof(*m));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, EXIT_INPUT, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0) {
		err_set(err, EXIT_INPUT, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	long page = sysconf(_SC_PAGESIZE);
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0 || page <= 0) {
		close(fd);
		if (!(m->text = read_file(path, err)))
			return -1;
		m->len = strlen(m->text);
		m->maplen = 0;
		return 0;
	}
	size_t len = (size_t)sb.st_size, ps = (size_t)page;
	/* zeroed anonymous pages one byte longer than the file, the file
	 * mapped over their start: the text ends in a NUL even when its
	 * length is a multiple of the page size */
	size_t maplen = (len + 1 + ps - 1) / ps * ps;
	char *base = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		err_set(err, EXIT_RUNTIME, "%s: cannot map %zu bytes: %s", path, maplen, strerror(errno));
		close(fd);
		return -1;
	}
	if (mmap(base, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
		err_set(err, EXIT_INPUT, "%s: cannot map the file: %s", path, strerror(errno));
		munmap(base, maplen);
		close(fd);
		return -1;
	}
	close(fd);
	m->text = base;
	m->len = len;
	m->maplen = maplen;
	if (map_check(path, m, err) < 0) {
		map_release(m);
		return -1;
	}
	return 0;
}

void map_drop(struct mapped *m, size_t from, size_t upto)
{
	if (!m->maplen)
		return;
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	from = from / ps * ps;
	upto = (upto > m->len ? m->len : upto) / ps * ps;
	if (upto > from)
		(void)madvise(m->text + from, upto - from, MADV_DONTNEED);
}

void map_release(struct mapped *m)
{
	if (m->maplen)
		munmap(m->text, m->maplen);
	else
		free(m->text);
	m->text = NULL;
	m->len = m->maplen = 0;
}
