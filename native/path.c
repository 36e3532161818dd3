#include "path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
tspod_path_format (struct tspod_error *err, char *buf, size_t size, const char *fmt, ...)
{
  va_list ap;
  int len;

  va_start (ap, fmt);
  len = vsnprintf (buf, size, fmt, ap);
  va_end (ap);
  if (len < 0)
    return tspod_fail (err, errno, NULL, "cannot format path");
  if ((size_t) len >= size)
    return tspod_fail (err, ENAMETOOLONG, "use shorter paths (XDG_RUNTIME_DIR, TMPDIR)",
                       "path too long: %.200s", buf);
  return 0;
}

int
tspod_path_is_executable (const char *path)
{
  struct stat st;

  if (stat (path, &st) < 0 || ! S_ISREG (st.st_mode))
    return 0;
  return access (path, X_OK) == 0;
}

int
tspod_path_lookup (const char *search, const char *name, char *out, size_t size)
{
  const char *dir = search;

  if (search == NULL)
    return -1;
  while (1)
    {
      const char *end = strchr (dir, ':');
      size_t dirlen = end != NULL ? (size_t) (end - dir) : strlen (dir);
      int len;

      /* An empty element means the current directory, as for execvp. */
      if (dirlen == 0)
        len = snprintf (out, size, "./%s", name);
      else
        len = snprintf (out, size, "%.*s/%s", (int) dirlen, dir, name);
      if (len > 0 && (size_t) len < size && tspod_path_is_executable (out))
        return 0;
      if (end == NULL)
        break;
      dir = end + 1;
    }
  return -1;
}
