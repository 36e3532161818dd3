/* Compression of rotated log files (--log-compress), as Docker's json-file and local drivers
 * keep them: FILE.1 becomes FILE.1.gz. Done in the monitor, at rotation, before the next record
 * is written: the container's output waits for it (a 20 MB file takes a fraction of a second),
 * which keeps the rotation order simple. The new file appears under its name only when it is
 * complete (TO.tmp, then rename), so a reader sees either FILE.1 or a whole FILE.1.gz. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "monitor.h"

#define CHUNK (64 * 1024)

static int
copy_compressed (int in, gzFile out, const char *from, struct tspod_error *err)
{
  char buf[CHUNK];
  ssize_t n;

  while ((n = read (in, buf, sizeof (buf))) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return tspod_fail (err, errno, NULL, "cannot read %s", from);
      if (gzwrite (out, buf, (unsigned) n) != (int) n)
        return tspod_fail (err, EIO, NULL, "cannot compress %s", from);
    }
  return 0;
}

int
log_gzip_file (const char *from, const char *to, struct tspod_error *err)
{
  char tmp[PATH_MAX];
  gzFile out;
  int in;
  int out_fd;
  int ret;

  if (snprintf (tmp, sizeof (tmp), "%s.tmp", to) >= (int) sizeof (tmp))
    return tspod_fail (err, ENAMETOOLONG, NULL, "log path too long: %s", to);
  in = open (from, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return tspod_fail (err, errno, NULL, "cannot open %s", from);
  out_fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out_fd < 0)
    {
      close (in);
      return tspod_fail (err, errno, NULL, "cannot create %s", tmp);
    }
  out = gzdopen (out_fd, "wb");
  if (out == NULL)
    {
      close (in);
      close (out_fd);
      unlink (tmp);
      return tspod_fail (err, ENOMEM, NULL, "cannot compress %s", from);
    }
  ret = copy_compressed (in, out, from, err);
  close (in);
  if (gzclose (out) != Z_OK && ret == 0)
    ret = tspod_fail (err, EIO, NULL, "cannot write %s", tmp);
  if (ret == 0 && rename (tmp, to) < 0)
    ret = tspod_fail (err, errno, NULL, "cannot rename %s to %s", tmp, to);
  if (ret < 0)
    {
      unlink (tmp);
      return -1;
    }
  unlink (from);
  return 0;
}
