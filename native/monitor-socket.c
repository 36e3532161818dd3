/* Listening unix sockets for the monitor: the attach socket and the console socket the
 * runtime connects to with the pty master. Mode 0600 (umask around bind); a path longer than
 * sun_path's 108 bytes is bound through /proc/self/fd/N of its directory, and a socket file a
 * dead monitor left behind is replaced. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"

static int
fill_address (struct sockaddr_un *addr, const char *path, struct tspod_error *err)
{
  memset (addr, 0, sizeof (*addr));
  addr->sun_family = AF_UNIX;
  if (strlen (path) >= sizeof (addr->sun_path))
    return tspod_fail (err, ENAMETOOLONG, NULL, "socket path too long: %.200s", path);
  strcpy (addr->sun_path, path);
  return 0;
}

/* A socket file left by a dead monitor refuses connections: it may be replaced. */
static int
stale_socket (const struct sockaddr_un *addr)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int stale;

  if (fd < 0)
    return 0;
  stale = connect (fd, (const struct sockaddr *) addr, sizeof (*addr)) < 0 && errno == ECONNREFUSED;
  close (fd);
  return stale;
}

static int
bind_listen (int fd, const struct sockaddr_un *addr, const char *shown, struct tspod_error *err)
{
  mode_t old = umask (0177);
  int ret = bind (fd, (const struct sockaddr *) addr, sizeof (*addr));

  if (ret < 0 && errno == EADDRINUSE && stale_socket (addr))
    {
      if (unlink (addr->sun_path) < 0)
        ret = -1;
      else
        ret = bind (fd, (const struct sockaddr *) addr, sizeof (*addr));
    }
  umask (old);
  if (ret < 0)
    return tspod_fail (err, errno, NULL, "cannot bind %s", shown);
  if (listen (fd, 16) < 0)
    return tspod_fail (err, errno, NULL, "cannot listen on %s", shown);
  return 0;
}

int
monitor_listen_unix (const char *dir, const char *name, int *fd, char *path_out,
                     struct tspod_error *err)
{
  struct sockaddr_un addr;
  char bind_path[PATH_MAX];
  int dirfd;

  if (snprintf (path_out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
    return tspod_fail (err, ENAMETOOLONG, NULL, "path too long: %s/%s", dir, name);
  snprintf (bind_path, sizeof (bind_path), "%s", path_out);
  if (strlen (path_out) >= sizeof (addr.sun_path))
    {
      /* sun_path holds 108 bytes: reach a long directory through an fd kept open for good. */
      dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        return tspod_fail (err, errno, NULL, "cannot open %s", dir);
      snprintf (bind_path, sizeof (bind_path), "/proc/self/fd/%d/%s", dirfd, name);
      snprintf (path_out, PATH_MAX, "/proc/%d/fd/%d/%s", (int) getpid (), dirfd, name);
    }
  if (fill_address (&addr, bind_path, err) < 0)
    return -1;
  *fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (*fd < 0)
    return tspod_fail (err, errno, NULL, "cannot create a unix socket");
  return bind_listen (*fd, &addr, path_out, err);
}
