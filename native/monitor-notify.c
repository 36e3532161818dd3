/* --sdnotify=container: the container gets a socket of its own for sd_notify (the proxy,
 * bind-mounted at /run/notify/notify.sock with NOTIFY_SOCKET pointing at it), and the monitor
 * relays what it says to systemd's NOTIFY_SOCKET. Nothing is relayed before the container says
 * READY=1; from then on every message is, with MAINPID (a pid in the container's namespace, or
 * none) replaced by the container's pid as the host sees it, which is what systemd can watch. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"
#include "sdnotify.h"

#define NOTIFY_MAX 4096

static int proxy_fd = -1;
static int container_ready;

int
notify_proxy_open (const struct monitor_opts *o, struct tspod_error *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  if (o->sdnotify_proxy == NULL || o->sdnotify_socket == NULL)
    return 0;
  if (strlen (o->sdnotify_proxy) >= sizeof (addr.sun_path))
    return tspod_fail (err, ENAMETOOLONG, NULL, "socket path too long: %.200s", o->sdnotify_proxy);
  strcpy (addr.sun_path, o->sdnotify_proxy);
  if (unlink (o->sdnotify_proxy) < 0 && errno != ENOENT)
    return tspod_fail (err, errno, NULL, "cannot remove %s", o->sdnotify_proxy);
  proxy_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (proxy_fd < 0)
    return tspod_fail (err, errno, NULL, "cannot create a datagram socket");
  if (bind (proxy_fd, (const struct sockaddr *) &addr, sizeof (addr)) < 0)
    return tspod_fail (err, errno, NULL, "cannot bind %s", o->sdnotify_proxy);
  /* Any user of the container may notify, as with systemd's own socket. */
  if (chmod (o->sdnotify_proxy, 0777) < 0)
    return tspod_fail (err, errno, NULL, "cannot chmod %s", o->sdnotify_proxy);
  return 0;
}

int
notify_proxy_fd (void)
{
  return proxy_fd;
}

/* Copies MSG's lines to OUT, minus MAINPID= lines; says whether READY=1 was among them. */
static size_t
strip_mainpid (const char *msg, size_t len, char *out, size_t size, int *ready)
{
  size_t used = 0;
  size_t i = 0;

  *ready = 0;
  while (i < len)
    {
      size_t start = i;
      size_t line;
      while (i < len && msg[i] != '\n')
        i++;
      line = i - start;
      i++;
      if (line == 0 || (line >= 8 && memcmp (msg + start, "MAINPID=", 8) == 0))
        continue;
      if (line == 7 && memcmp (msg + start, "READY=1", 7) == 0)
        *ready = 1;
      if (used + line + 1 >= size)
        break;
      memcpy (out + used, msg + start, line);
      used += line;
      out[used++] = '\n';
    }
  return used;
}

void
notify_proxy_handle (const struct monitor_opts *o, pid_t container_pid)
{
  char msg[NOTIFY_MAX];
  char out[NOTIFY_MAX + 32];
  struct tspod_error err;
  size_t used;
  ssize_t n;
  int ready;

  while ((n = recv (proxy_fd, msg, sizeof (msg), 0)) >= 0 || errno == EINTR)
    {
      if (n < 0)
        continue;
      used = (size_t) snprintf (out, sizeof (out), "MAINPID=%d\n", (int) container_pid);
      used += strip_mainpid (msg, (size_t) n, out + used, sizeof (out) - used, &ready);
      if (ready)
        container_ready = 1;
      if (! container_ready)
        continue;
      if (sdnotify_send (o->sdnotify_socket, out, used, &err) < 0)
        monitor_report (o, &err);
    }
}
