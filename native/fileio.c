#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

ssize_t
tspod_read_small_at (int dirfd, const char *path, char *buf, size_t size, struct tspod_error *err)
{
  size_t used = 0;
  int fd;

  fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return tspod_fail (err, errno, NULL, "cannot open %s", path);
  while (used + 1 < size)
    {
      ssize_t n = read (fd, buf + used, size - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          return tspod_fail (err, saved, NULL, "cannot read %s", path);
        }
      if (n == 0)
        break;
      used += (size_t) n;
    }
  buf[used] = '\0';
  if (close (fd) < 0)
    return tspod_fail (err, errno, NULL, "cannot close %s", path);
  return (ssize_t) used;
}

int
tspod_writev_all (int fd, struct iovec *v, int count)
{
  while (count > 0)
    {
      ssize_t n = writev (fd, v, count);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      /* A partial write (a full pipe or socket buffer): go on from where it stopped. */
      while (count > 0 && (size_t) n >= v->iov_len)
        {
          n -= (ssize_t) v->iov_len;
          v++;
          count--;
        }
      if (count > 0)
        {
          v->iov_base = (char *) v->iov_base + n;
          v->iov_len -= (size_t) n;
        }
    }
  return 0;
}

int
tspod_write_all (int fd, const void *data, size_t len)
{
  struct iovec v = { (void *) data, len };

  return tspod_writev_all (fd, &v, 1);
}

int
tspod_write_existing (const char *path, const char *data, struct tspod_error *err)
{
  int fd;

  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return tspod_fail (err, errno, NULL, "cannot open %s", path);
  if (tspod_write_all (fd, data, strlen (data)) < 0)
    {
      int saved = errno;
      close (fd);
      return tspod_fail (err, saved, NULL, "cannot write %s", path);
    }
  if (close (fd) < 0)
    return tspod_fail (err, errno, NULL, "cannot write %s", path);
  return 0;
}

int
tspod_write_atomic (const char *path, const char *data, struct tspod_error *err)
{
  char tmp[PATH_MAX];
  int fd;

  if (tspod_path_format (err, tmp, sizeof (tmp), "%s.%d.tmp", path, (int) getpid ()) < 0)
    return -1;
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return tspod_fail (err, errno, NULL, "cannot create %s", tmp);
  if (tspod_write_all (fd, data, strlen (data)) < 0)
    {
      int saved = errno;
      close (fd);
      unlink (tmp);
      return tspod_fail (err, saved, NULL, "cannot write %s", tmp);
    }
  if (close (fd) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return tspod_fail (err, saved, NULL, "cannot write %s", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return tspod_fail (err, saved, NULL, "cannot rename %s to %s", tmp, path);
    }
  return 0;
}
