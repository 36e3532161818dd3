/* The journald log driver: each line (or piece of a line) becomes one journal entry, sent as a
 * datagram in journald's native protocol (systemd's "Native Journal Protocol": `KEY=value\n`
 * per field; a value holding '\n' as `KEY\n<u64 little-endian length><bytes>\n`), with the
 * fields conmon and Docker write: MESSAGE, PRIORITY (6 stdout, 3 stderr), CONTAINER_ID (12),
 * CONTAINER_ID_FULL, CONTAINER_NAME, CONTAINER_TAG and SYSLOG_IDENTIFIER (the --log-tag; without
 * one SYSLOG_IDENTIFIER is the name, as Podman 4.3's conmon writes them), and
 * CONTAINER_PARTIAL_MESSAGE=true for a piece. MESSAGE holds the line without its '\n' (Docker;
 * conmon keeps it). No libsystemd: one sendmsg each.
 *
 * The journal may go away or stall while the container runs: a send waits at most SEND_WAIT_MS
 * for room, a failed one is reported by the caller (once) and the entry dropped; the next entry
 * tries again (journald restarted: the socket is connected anew). */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"

#define SEND_WAIT_MS 1000
#define DRAIN_WAIT_MS 1000

struct journal_sink
{
  int fd;
  struct sockaddr_un addr;
  char *fields; /* the fields every entry carries, in wire form */
  size_t fields_len;
};

/* Appends one field in wire form to *BUF (*LEN used), the binary form when VALUE holds '\n'. */
static int
add_field (char **buf, size_t *len, const char *key, const char *value)
{
  size_t klen = strlen (key);
  size_t vlen = strlen (value);
  size_t need = klen + 1 + 8 + vlen + 1;
  char *grown = realloc (*buf, *len + need);
  char *p;

  if (grown == NULL)
    return -1;
  p = grown + *len;
  memcpy (p, key, klen);
  p += klen;
  if (memchr (value, '\n', vlen) == NULL)
    *p++ = '=';
  else
    {
      uint64_t n = vlen;
      int i;
      *p++ = '\n';
      for (i = 0; i < 8; i++)
        *p++ = (char) (n >> (8 * i));
    }
  memcpy (p, value, vlen);
  p += vlen;
  *p++ = '\n';
  *buf = grown;
  *len = (size_t) (p - grown);
  return 0;
}

static int
build_fields (struct journal_sink *j, const struct monitor_opts *o)
{
  char short_id[13];

  snprintf (short_id, sizeof (short_id), "%.12s", o->cid);
  if (add_field (&j->fields, &j->fields_len, "CONTAINER_ID", short_id) < 0
      || add_field (&j->fields, &j->fields_len, "CONTAINER_ID_FULL", o->cid) < 0)
    return -1;
  if (o->name != NULL && add_field (&j->fields, &j->fields_len, "CONTAINER_NAME", o->name) < 0)
    return -1;
  /* Podman 4.3's conmon: the tag names the entries when there is one, else the name does. */
  if (o->log_tag != NULL && o->log_tag[0] != '\0')
    return add_field (&j->fields, &j->fields_len, "CONTAINER_TAG", o->log_tag) < 0
                   || add_field (&j->fields, &j->fields_len, "SYSLOG_IDENTIFIER", o->log_tag) < 0
               ? -1
               : 0;
  if (o->name != NULL && add_field (&j->fields, &j->fields_len, "SYSLOG_IDENTIFIER", o->name) < 0)
    return -1;
  return 0;
}

static int
connect_journal (struct journal_sink *j, struct tspod_error *err)
{
  if (connect (j->fd, (struct sockaddr *) &j->addr, sizeof (j->addr)) < 0)
    return tspod_fail (err, errno, NULL, "cannot reach the journal at %s", j->addr.sun_path);
  return 0;
}

struct journal_sink *
journal_sink_new (const struct monitor_opts *o, struct tspod_error *err)
{
  struct journal_sink *j = calloc (1, sizeof (*j));
  const char *path = o->journal_socket != NULL ? o->journal_socket : JOURNAL_SOCKET_DEFAULT;

  if (j == NULL)
    {
      tspod_fail (err, errno, NULL, "cannot allocate memory");
      return NULL;
    }
  j->addr.sun_family = AF_UNIX;
  if (strlen (path) >= sizeof (j->addr.sun_path))
    {
      tspod_fail (err, 0, NULL, "the journal socket path %s is too long", path);
      free (j);
      return NULL;
    }
  strcpy (j->addr.sun_path, path);
  j->fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (j->fd < 0 || build_fields (j, o) < 0)
    {
      tspod_fail (err, errno, NULL, "cannot set up the journal writer");
      if (j->fd >= 0)
        close (j->fd);
      free (j->fields);
      free (j);
      return NULL;
    }
  /* Unreachable now is not fatal: the container runs, and the first entry reports it. */
  connect_journal (j, err);
  return j;
}

static ssize_t
send_entry (struct journal_sink *j, const struct iovec *iov, int n)
{
  struct msghdr msg = { .msg_iov = (struct iovec *) iov, .msg_iovlen = (size_t) n };
  struct pollfd pfd = { .fd = j->fd, .events = POLLOUT };
  ssize_t sent;

  for (;;)
    {
      sent = sendmsg (j->fd, &msg, MSG_NOSIGNAL);
      if (sent >= 0 || errno == EINTR)
        {
          if (sent >= 0)
            return sent;
          continue;
        }
      if (errno != EAGAIN)
        return -1;
      /* journald is behind: wait a while for room, then drop the entry. */
      if (poll (&pfd, 1, SEND_WAIT_MS) <= 0)
        {
          errno = EAGAIN;
          return -1;
        }
    }
}

int
journal_sink_send (struct journal_sink *j, int stream, const char *data, size_t len, int partial,
                   struct tspod_error *err)
{
  static const char priority_out[] = "PRIORITY=6\n";
  static const char priority_err[] = "PRIORITY=3\n";
  static const char partial_field[] = "CONTAINER_PARTIAL_MESSAGE=true\n";
  char head[16];
  size_t head_len;
  struct iovec iov[6];
  int n = 0;
  int attempt;

  iov[n++] = (struct iovec){ j->fields, j->fields_len };
  if (stream == FRAME_STDERR)
    iov[n++] = (struct iovec){ (void *) priority_err, sizeof (priority_err) - 1 };
  else
    iov[n++] = (struct iovec){ (void *) priority_out, sizeof (priority_out) - 1 };
  if (partial)
    iov[n++] = (struct iovec){ (void *) partial_field, sizeof (partial_field) - 1 };
  if (memchr (data, '\n', len) == NULL)
    {
      memcpy (head, "MESSAGE=", 8);
      head_len = 8;
    }
  else
    {
      uint64_t v = len;
      int i;
      memcpy (head, "MESSAGE\n", 8);
      for (i = 0; i < 8; i++)
        head[8 + i] = (char) (v >> (8 * i));
      head_len = 16;
    }
  iov[n++] = (struct iovec){ head, head_len };
  iov[n++] = (struct iovec){ (void *) data, len };
  iov[n++] = (struct iovec){ (void *) "\n", 1 };
  for (attempt = 0; attempt < 2; attempt++)
    {
      if (send_entry (j, iov, n) >= 0)
        return 0;
      /* journald restarted (a new socket at the same path): connect anew, once. */
      if (attempt > 0 || (errno != ECONNREFUSED && errno != ENOTCONN && errno != ENOENT))
        break;
      if (connect_journal (j, err) < 0)
        return -1;
    }
  return tspod_fail (err, errno, "the container runs on; its output is not logged meanwhile",
                     "cannot write to the journal at %s", j->addr.sun_path);
}

/* Waits (at most DRAIN_WAIT_MS) until journald has read every entry sent: a unix datagram
 * counts against its sender until the receiver takes it. So when the exit becomes known (exit
 * file, exit frame), `logs` finds the last lines in the journal. */
static void
drain (struct journal_sink *j)
{
  int64_t deadline = monitor_now_ms () + DRAIN_WAIT_MS;
  int queued = 0;

  while (ioctl (j->fd, SIOCOUTQ, &queued) == 0 && queued > 0 && monitor_now_ms () < deadline)
    poll (NULL, 0, 1);
}

void
journal_sink_close (struct journal_sink *j)
{
  if (j == NULL)
    return;
  drain (j);
  close (j->fd);
  free (j->fields);
  free (j);
}
