/* The attach socket: a SOCK_STREAM unix socket Node can open (conmon's is SOCK_SEQPACKET,
 * which Node cannot), speaking [type u8][length u32 big-endian][payload] frames.
 * Output is sent without ever blocking: what a client's socket does not take now waits in a
 * per-client buffer. A client whose backlog passes CLIENT_HIGH_WATER holds the relay back (the
 * monitor stops reading the container's output, as a blocked `docker attach` would), but for
 * at most CLIENT_STALL_MS: a client that stays behind that long is dropped. So a fast
 * container never outruns a healthy client, and a stuck client costs the container a
 * bounded pause, never a stall. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "monitor.h"

#define MAX_CLIENTS 32
#define CLIENT_HIGH_WATER (1024 * 1024)
/* The relay stops at the high-water mark: the hard cap only leaves room for the frame that
 * crossed it (and the exit frame). */
#define CLIENT_OUT_MAX (CLIENT_HIGH_WATER + 256 * 1024)
#define CLIENT_STALL_MS 2000
#define CONTROL_MAX 64

struct client
{
  int fd;
  unsigned char header[FRAME_HEADER_SIZE];
  size_t header_len;
  uint32_t payload_left;
  char control[CONTROL_MAX]; /* payload of a resize frame */
  size_t control_len;
  char *out;
  size_t out_len;
  size_t out_cap;
  int64_t behind_since; /* when out_len passed CLIENT_HIGH_WATER; 0 while below */
  int cleans;           /* sent FRAME_CLEANUP: removes the container after the exit */
  int cleaned;          /* sent FRAME_CLEANUP_DONE */
};

struct attach_server
{
  int listen_fd;
  char path[PATH_MAX];
  struct client clients[MAX_CLIENTS];
  size_t n_clients;
};

struct attach_server *
attach_server_new (const struct monitor_opts *o, struct tspod_error *err)
{
  struct attach_server *s = calloc (1, sizeof (*s));
  char path[PATH_MAX];

  if (s == NULL)
    {
      tspod_fail (err, errno, NULL, "cannot allocate memory");
      return NULL;
    }
  if (monitor_listen_unix (o->socket_dir, "attach", &s->listen_fd, path, err) < 0)
    {
      free (s);
      return NULL;
    }
  /* Unlinking needs the real path even when binding went through /proc. */
  snprintf (s->path, sizeof (s->path), "%s/attach", o->socket_dir);
  return s;
}

int
attach_server_listen_fd (const struct attach_server *s)
{
  return s->listen_fd;
}

size_t
attach_server_clients (const struct attach_server *s)
{
  return s->n_clients;
}

/* ---------------------------------------------------------------- clients ----------------- */

static void
drop_client (struct attach_server *s, size_t i)
{
  close (s->clients[i].fd);
  free (s->clients[i].out);
  s->clients[i] = s->clients[--s->n_clients];
}

int
attach_server_accept (struct attach_server *s)
{
  int accepted = 0;
  int fd;

  while ((fd = accept4 (s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
    {
      if (s->n_clients == MAX_CLIENTS)
        {
          close (fd);
          continue;
        }
      memset (&s->clients[s->n_clients], 0, sizeof (s->clients[0]));
      s->clients[s->n_clients++].fd = fd;
      accepted++;
    }
  return accepted;
}

static int
queue_output (struct client *c, const char *data, size_t len)
{
  if (c->out_len + len > CLIENT_OUT_MAX)
    return -1;
  if (c->out_len + len > c->out_cap)
    {
      size_t cap = c->out_cap > 0 ? c->out_cap : 16384;
      char *grown;
      while (cap < c->out_len + len)
        cap *= 2;
      grown = realloc (c->out, cap);
      if (grown == NULL)
        return -1;
      c->out = grown;
      c->out_cap = cap;
    }
  memcpy (c->out + c->out_len, data, len);
  c->out_len += len;
  return 0;
}

/* Sends the queued bytes it can; -1 when the client is gone. */
static int
flush_client (struct client *c)
{
  size_t done = 0;
  ssize_t n;

  while (done < c->out_len)
    {
      n = send (c->fd, c->out + done, c->out_len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
      if (n < 0)
        break;
      done += (size_t) n;
    }
  if (done < c->out_len)
    {
      memmove (c->out, c->out + done, c->out_len - done);
      c->out_len -= done;
      return 0;
    }
  free (c->out);
  c->out = NULL;
  c->out_len = 0;
  c->out_cap = 0;
  return 0;
}

/* Header and payload in one sendmsg when nothing is queued; the rest queued. */
static int
send_frame (struct client *c, int type, const char *data, size_t len)
{
  unsigned char header[FRAME_HEADER_SIZE] = { (unsigned char) type, (unsigned char) (len >> 24),
                                              (unsigned char) (len >> 16),
                                              (unsigned char) (len >> 8), (unsigned char) len };
  struct iovec iov[2] = { { header, sizeof (header) }, { (void *) data, len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
  size_t sent = 0;
  ssize_t n = -1;

  if (c->out_len == 0)
    {
      do
        n = sendmsg (c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
      sent = n > 0 ? (size_t) n : 0;
    }
  if (sent < sizeof (header))
    {
      if (queue_output (c, (const char *) header + sent, sizeof (header) - sent) < 0)
        return -1;
      sent = sizeof (header);
    }
  sent -= sizeof (header);
  if (sent < len)
    return queue_output (c, data + sent, len - sent);
  return 0;
}

void
attach_server_broadcast (struct attach_server *s, int type, const char *data, size_t len)
{
  size_t i = 0;

  while (i < s->n_clients)
    {
      if (send_frame (&s->clients[i], type, data, len) < 0)
        drop_client (s, i);
      else
        i++;
    }
}

/* Drops the clients that have been over the high-water mark for too long; returns whether a
 * client is still over it (the relay then pauses reading output). */
int
attach_server_backlogged (struct attach_server *s)
{
  int64_t now = monitor_now_ms ();
  int behind = 0;
  size_t i = s->n_clients;

  while (i-- > 0)
    {
      struct client *c = &s->clients[i];
      if (c->out_len < CLIENT_HIGH_WATER)
        {
          c->behind_since = 0;
          continue;
        }
      if (c->behind_since == 0)
        c->behind_since = now;
      if (now - c->behind_since >= CLIENT_STALL_MS)
        drop_client (s, i);
      else
        behind = 1;
    }
  return behind;
}

/* When the next client that is behind would be dropped; -1 when none is behind. */
int64_t
attach_server_stall_deadline (const struct attach_server *s)
{
  int64_t deadline = -1;
  size_t i;

  for (i = 0; i < s->n_clients; i++)
    if (s->clients[i].behind_since != 0
        && (deadline < 0 || s->clients[i].behind_since + CLIENT_STALL_MS < deadline))
      deadline = s->clients[i].behind_since + CLIENT_STALL_MS;
  return deadline;
}

/* ---------------------------------------------------------------- client input ------------ */

static void
stdin_append (struct stdin_sink *in, const char *data, size_t len)
{
  if (! in->accepting || in->fd < 0 || len == 0)
    return;
  if (in->buf == NULL)
    {
      in->buf = malloc (STDIN_BUF_MAX);
      if (in->buf == NULL)
        return;
    }
  /* The caller read no more than the free space: this always fits. */
  if (len > STDIN_BUF_MAX - in->len)
    len = STDIN_BUF_MAX - in->len;
  memcpy (in->buf + in->len, data, len);
  in->len += len;
}

static void
apply_resize (struct client *c, struct stdin_sink *in)
{
  struct winsize ws = { 0 };
  unsigned rows;
  unsigned cols;

  c->control[c->control_len] = '\0';
  if (! in->pty || sscanf (c->control, "%u %u", &rows, &cols) != 2 || rows > 0xffff
      || cols > 0xffff)
    return;
  ws.ws_row = (unsigned short) rows;
  ws.ws_col = (unsigned short) cols;
  /* A failure (the container is gone) has nobody to be reported to. */
  ioctl (in->fd, TIOCSWINSZ, &ws);
}

/* A complete frame arrived; returns -1 when the client is to be dropped. */
static int
frame_done (struct client *c, struct stdin_sink *in)
{
  c->header_len = 0;
  switch (c->header[0])
    {
    case FRAME_RESIZE:
      apply_resize (c, in);
      return 0;
    case FRAME_STDIN_EOF:
      if (in->accepting && ! in->pty)
        in->eof_requested = 1;
      return 0;
    case FRAME_DETACH:
      return -1;
    case FRAME_CLEANUP:
      c->cleans = 1;
      return 0;
    case FRAME_CLEANUP_DONE:
      c->cleaned = 1;
      return 0;
    default:
      return 0; /* stdin data went through already; unknown types are skipped */
    }
}

static int
start_frame (struct client *c, struct stdin_sink *in)
{
  c->payload_left = (uint32_t) c->header[1] << 24 | (uint32_t) c->header[2] << 16
                    | (uint32_t) c->header[3] << 8 | c->header[4];
  c->control_len = 0;
  if (c->header[0] != FRAME_STDIN && c->payload_left >= CONTROL_MAX)
    return -1;
  if (c->payload_left == 0)
    return frame_done (c, in);
  return 0;
}

static int
consume (struct client *c, const char *data, size_t len, struct stdin_sink *in)
{
  while (len > 0)
    {
      size_t take;
      if (c->header_len < FRAME_HEADER_SIZE)
        {
          take = FRAME_HEADER_SIZE - c->header_len < len ? FRAME_HEADER_SIZE - c->header_len : len;
          memcpy (c->header + c->header_len, data, take);
          c->header_len += take;
          data += take, len -= take;
          if (c->header_len == FRAME_HEADER_SIZE && start_frame (c, in) < 0)
            return -1;
          continue;
        }
      take = c->payload_left < len ? c->payload_left : len;
      if (c->header[0] == FRAME_STDIN)
        stdin_append (in, data, take);
      else
        {
          memcpy (c->control + c->control_len, data, take);
          c->control_len += take;
        }
      data += take, len -= take;
      c->payload_left -= (uint32_t) take;
      if (c->payload_left == 0 && frame_done (c, in) < 0)
        return -1;
    }
  return 0;
}

/* Reads no more than stdin has room for, so stdin data never has to be thrown away. */
static int
read_client (struct client *c, struct stdin_sink *in)
{
  char buf[4096];
  size_t room = STDIN_BUF_MAX - in->len;
  ssize_t n;

  if (room > sizeof (buf))
    room = sizeof (buf);
  do
    n = recv (c->fd, buf, room, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return 0;
  if (n <= 0)
    return -1;
  return consume (c, buf, (size_t) n, in);
}

size_t
attach_server_pollfds (const struct attach_server *s, struct pollfd *pfds, size_t max,
                       int want_input)
{
  size_t i;

  for (i = 0; i < s->n_clients && i < max; i++)
    {
      pfds[i].fd = s->clients[i].fd;
      pfds[i].events = (short) (want_input ? POLLIN : 0);
      if (s->clients[i].out_len > 0)
        pfds[i].events |= POLLOUT;
      pfds[i].revents = 0;
    }
  return i;
}

void
attach_server_handle (struct attach_server *s, const struct pollfd *pfds, size_t n,
                      struct stdin_sink *in)
{
  size_t i;

  /* Backwards: dropping client i moves the last one into its slot. */
  for (i = n; i-- > 0;)
    {
      struct client *c = &s->clients[i];
      int gone = 0;
      if (pfds[i].revents == 0 || c->fd != pfds[i].fd)
        continue;
      if (pfds[i].revents & POLLOUT)
        gone = flush_client (c) < 0;
      if (! gone && (pfds[i].revents & POLLIN))
        gone = read_client (c, in) < 0;
      else if (! gone && (pfds[i].revents & (POLLHUP | POLLERR)))
        gone = 1;
      if (gone)
        drop_client (s, i);
    }
}

/* ---------------------------------------------------------------- the end ----------------- */

/* Unread input makes close() reset the connection, which could cost the client its last
 * frames: read it away first. */
static void
discard_input (int fd)
{
  char buf[1024];

  while (recv (fd, buf, sizeof (buf), MSG_DONTWAIT) > 0)
    ;
}

static void
flush_all (struct attach_server *s, int timeout_ms)
{
  int64_t deadline = monitor_now_ms () + timeout_ms;
  struct pollfd pfds[MAX_CLIENTS];
  size_t i;
  size_t n;

  for (;;)
    {
      int64_t left = deadline - monitor_now_ms ();
      for (i = 0; i < s->n_clients; i++)
        if (flush_client (&s->clients[i]) < 0)
          s->clients[i].out_len = 0;
      n = 0;
      for (i = 0; i < s->n_clients; i++)
        if (s->clients[i].out_len > 0)
          pfds[n++] = (struct pollfd) { s->clients[i].fd, POLLOUT, 0 };
      if (n == 0 || left <= 0)
        return;
      if (poll (pfds, n, (int) left) < 0 && errno != EINTR)
        return;
    }
}

/* Half-close, then read until each client closed its end: a client still writing (a resize, a
 * keystroke) when we close would get EPIPE and, in Node, lose the frames it had not read yet.
 * What clients send now is parsed only for FRAME_CLEANUP_DONE (stdin goes nowhere). A client
 * that removes the container gets CLEANUP_MS for it; returns whether one reported it done. */
static int
wait_for_client_close (struct attach_server *s, int timeout_ms, int cleanup_ms)
{
  int64_t now = monitor_now_ms ();
  struct stdin_sink nowhere = { .fd = -1 };
  struct pollfd pfds[MAX_CLIENTS];
  size_t at[MAX_CLIENTS];
  int64_t deadline[MAX_CLIENTS];
  int open[MAX_CLIENTS];
  int cleaned = 0;
  char buf[1024];
  size_t i;
  size_t n;

  for (i = 0; i < s->n_clients; i++)
    {
      shutdown (s->clients[i].fd, SHUT_WR);
      open[i] = 1;
      deadline[i] = now + (s->clients[i].cleans ? cleanup_ms : timeout_ms);
    }
  for (;;)
    {
      int64_t wait = -1;
      now = monitor_now_ms ();
      n = 0;
      for (i = 0; i < s->n_clients; i++)
        {
          if (! open[i])
            continue;
          if (deadline[i] <= now)
            {
              open[i] = 0;
              continue;
            }
          if (wait < 0 || deadline[i] - now < wait)
            wait = deadline[i] - now;
          at[n] = i;
          pfds[n++] = (struct pollfd) { s->clients[i].fd, POLLIN, 0 };
        }
      if (n == 0)
        break;
      if (poll (pfds, n, (int) wait) < 0 && errno != EINTR)
        break;
      for (i = 0; i < n; i++)
        {
          struct client *c = &s->clients[at[i]];
          ssize_t r;
          if (pfds[i].revents == 0)
            continue;
          r = recv (c->fd, buf, sizeof (buf), MSG_DONTWAIT);
          if (r > 0 && consume (c, buf, (size_t) r, &nowhere) == 0)
            continue;
          if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
              || r > 0)
            open[at[i]] = 0;
        }
    }
  for (i = 0; i < s->n_clients; i++)
    cleaned |= s->clients[i].cleans && s->clients[i].cleaned;
  return cleaned;
}

int
attach_server_finish (struct attach_server *s, int exit_code, int timeout_ms, int cleanup_ms,
                      int *cleaned, struct tspod_error *err)
{
  char code[16];
  size_t i;

  if (exit_code >= 0)
    {
      snprintf (code, sizeof (code), "%d", exit_code);
      attach_server_broadcast (s, FRAME_EXIT, code, strlen (code));
      flush_all (s, timeout_ms);
    }
  *cleaned = wait_for_client_close (s, timeout_ms, cleanup_ms);
  for (i = 0; i < s->n_clients; i++)
    {
      discard_input (s->clients[i].fd);
      shutdown (s->clients[i].fd, SHUT_RDWR);
    }
  while (s->n_clients > 0)
    drop_client (s, s->n_clients - 1);
  close (s->listen_fd);
  s->listen_fd = -1;
  if (unlink (s->path) < 0 && errno != ENOENT)
    return tspod_fail (err, errno, NULL, "cannot remove %s", s->path);
  return 0;
}
