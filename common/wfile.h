/*
 * wfile: the one way the programs write a file a person named (or a file in
 * a directory someone else may write to), so that a planted symbolic link
 * can never redirect the write and a reader never sees half a file.
 *
 * wfile_write() writes the bytes to a new temporary file in the target's
 * directory, created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW) under an
 * unpredictable name (".<name>.<32 random hex digits>.tmp", permissions
 * 0666 less the umask, or the mode of the file it replaces), fsyncs it and
 * renames it over the target; then fsyncs the directory. The target is
 * refused when it is a symbolic link (ELOOP) or exists and is not a
 * regular file (EINVAL); with WFILE_NEW, when it exists at all (EEXIST).
 * On any failure nothing is left behind: the temporary file is removed and
 * the target is as it was.
 *
 * wfile_append() appends to a file (created 0666 less the umask when
 * missing), refusing a symbolic link (ELOOP) or a file that is not regular
 * (EINVAL); the bytes go in one write(2) loop to a descriptor opened
 * O_APPEND.
 *
 * Both return 0, or -1 with errno set; they never die. wfile_why(errno)
 * words the refusals for a message; wfile_error() makes the error
 * (msg.h) "path: why", class EXIT_INPUT for a refusal (symbolic link, not
 * a regular file, exists already) and EXIT_RUNTIME for an I/O failure.
 */
#ifndef MIGSAFE_WFILE_H
#define MIGSAFE_WFILE_H

#include <stddef.h>

enum {
	WFILE_NEW = 1, /* the target must not exist: never overwrite */
};

int wfile_write(const char *path, const void *data, size_t len, int flags);
int wfile_append(const char *path, const void *data, size_t len);
/* wfile_why: a reason for err as the functions above set it (static). */
const char *wfile_why(int err);
/* wfile_error: e filled for a failure of the functions above on path (err:
 * their errno), "path: why", EXIT_INPUT when the target was refused (a
 * link, not a regular file, exists already), else EXIT_RUNTIME; returns e
 * (for die_err). */
struct msg_err;
struct msg_err *wfile_error(struct msg_err *e, const char *path, int err);

#endif
