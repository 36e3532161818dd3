/* sd_notify's wire format is one datagram of NAME=VALUE lines; see sdnotify.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

int
sdnotify_send (const char *socket_path, const char *msg, size_t len, struct tspod_error *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  size_t path_len = strlen (socket_path);
  socklen_t addr_len;
  ssize_t sent;
  int fd;

  if (path_len == 0 || path_len >= sizeof (addr.sun_path))
    return tspod_fail (err, EINVAL, NULL, "bad NOTIFY_SOCKET %.200s", socket_path);
  memcpy (addr.sun_path, socket_path, path_len);
  if (socket_path[0] == '@')
    addr.sun_path[0] = '\0';
  addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + path_len
                          + (socket_path[0] == '@' ? 0 : 1));
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return tspod_fail (err, errno, NULL, "cannot create a datagram socket");
  do
    sent = sendto (fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *) &addr, addr_len);
  while (sent < 0 && errno == EINTR);
  close (fd);
  if (sent < 0)
    return tspod_fail (err, errno, NULL, "cannot notify %s", socket_path);
  return 0;
}
