/*
 * mapfile: a text file read through a private read-only mapping instead
 * of a copy in memory, so that a very large migration costs page cache,
 * not heap: pages the reader is done with can be dropped (map_drop) and
 * come back from the file if they are touched again.
 *
 * The text is NUL-terminated like read_file's (the mapping ends in zeroed
 * memory), and the same checks apply: a file that cannot be read, that
 * holds a NUL byte or that is not UTF-8 is an error (EXIT_INPUT, in *err,
 * msg.h) that names the file (and for UTF-8 the line). What is not
 * a regular file (a pipe, a terminal) is read into memory as read_file
 * does.
 */
#ifndef MIGSAFE_MAPFILE_H
#define MIGSAFE_MAPFILE_H

#include <stddef.h>

struct mapped {
	char *text;
	size_t len;    /* bytes of text, without the NUL */
	size_t maplen; /* 0: text is a read_file copy */
};

struct msg_err;
/* map_file: 0, or -1 with *err (m then holds nothing to release) */
int map_file(const char *path, struct mapped *m, struct msg_err *err);
/* map_drop: the pages wholly within text[from rounded down to a page, upto)
 * leave memory */
void map_drop(struct mapped *m, size_t from, size_t upto);
void map_release(struct mapped *m);

#endif
