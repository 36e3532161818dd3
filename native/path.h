/* Building paths without silent truncation, and finding programs on $PATH. */
#ifndef TSPOD_PATH_H
#define TSPOD_PATH_H

#include <stddef.h>

#include "error.h"

int tspod_path_format (struct tspod_error *err, char *buf, size_t size, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* Looks NAME up in each directory of SEARCH (a $PATH-style list, may be NULL); 0 when found. */
int tspod_path_lookup (const char *search, const char *name, char *out, size_t size);
int tspod_path_is_executable (const char *path);

#endif
