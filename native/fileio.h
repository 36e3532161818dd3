/* Whole-file reads and writes of the small files tspod deals with (procfs, pid files). */
#ifndef TSPOD_FILEIO_H
#define TSPOD_FILEIO_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "error.h"

/* Reads up to SIZE-1 bytes of PATH (relative to DIRFD, or AT_FDCWD) and NUL-terminates them.
 * Returns the length, or -1 with err->errnum set (ENOENT is for the caller to judge). */
ssize_t tspod_read_small_at (int dirfd, const char *path, char *buf, size_t size,
                             struct tspod_error *err);
int tspod_write_all (int fd, const void *data, size_t len);
/* All of V[0..COUNT) in order, in as few writes as the fd takes (V is advanced on the way). */
int tspod_writev_all (int fd, struct iovec *v, int count);
/* Writes DATA to an existing file (procfs control files: uid_map, setgroups). */
int tspod_write_existing (const char *path, const char *data, struct tspod_error *err);
/* Writes DATA to PATH atomically: a temporary file beside it, then rename. */
int tspod_write_atomic (const char *path, const char *data, struct tspod_error *err);

#endif
