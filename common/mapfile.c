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

void map_file(const char *path, struct mapped *m)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0)
		die("%s: %s", path, strerror(errno));
	long page = sysconf(_SC_PAGESIZE);
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0 || page <= 0) {
		close(fd);
		m->text = read_file(path);
		m->len = strlen(m->text);
		m->maplen = 0;
		return;
	}
	size_t len = (size_t)sb.st_size, ps = (size_t)page;
	/* zeroed anonymous pages one byte longer than the file, the file
	 * mapped over their start: the text ends in a NUL even when its
	 * length is a multiple of the page size */
	size_t maplen = (len + 1 + ps - 1) / ps * ps;
	char *base = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		die_code(EXIT_RUNTIME, "%s: cannot map %zu bytes: %s", path, maplen, strerror(errno));
	if (mmap(base, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
		die("%s: cannot map the file: %s", path, strerror(errno));
	close(fd);
	m->text = base;
	m->len = len;
	m->maplen = maplen;
	/* the checks read it all: a megabyte at a time, each dropped after; a
	 * UTF-8 sequence cut by the megabyte's end is checked with the next */
	size_t valid = 0; /* text[0..valid) is UTF-8 */
	for (size_t off = 0, step = (size_t)1 << 20; off < len; off += step) {
		size_t upto = len - off < step ? len : off + step;
		if (memchr(base + off, '\0', upto - off))
			die("%s: binary file (NUL byte)", path);
		size_t bad = valid + utf8_invalid(base + valid, upto - valid);
		if (bad < upto && (upto == len || upto - bad >= 4))
			text_check_utf8(path, base, bad, upto);
		valid = bad;
		map_drop(m, off, off + step);
	}
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
