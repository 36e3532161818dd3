/* The relays of tspod-portfwd. TCP: two threads per connection, each moving one direction with
 * splice(2) through a pipe (no copy into user space); EOF on one side becomes a half-close on
 * the other, as a proxy must for protocols that shut down writing first. UDP: one socket in
 * the namespace per client address, so replies find their way back; idle ones expire. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "port-forwarder.h"

#define RELAY_CHUNK (1 << 18)
#define RELAY_STACK (64 * 1024)

struct tcp_conn
{
  int client;
  int target;
  const struct fwd_mapping *mapping;
  int refs;
  pthread_mutex_t lock;
};

struct pump
{
  struct tcp_conn *conn;
  int from;
  int to;
};

static void
conn_release (struct tcp_conn *c)
{
  int last;
  pthread_mutex_lock (&c->lock);
  last = --c->refs == 0;
  pthread_mutex_unlock (&c->lock);
  if (!last)
    return;
  close (c->client);
  if (c->target >= 0)
    close (c->target);
  pthread_mutex_destroy (&c->lock);
  free (c);
}

/* Moves from → to until EOF (then half-closes `to`) or an error (then wakes the other pump). */
static void
pump_run (int from, int to)
{
  int pipefd[2];
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    {
      shutdown (from, SHUT_RDWR);
      shutdown (to, SHUT_RDWR);
      return;
    }
  fcntl (pipefd[1], F_SETPIPE_SZ, RELAY_CHUNK);
  for (;;)
    {
      ssize_t in = splice (from, NULL, pipefd[1], NULL, RELAY_CHUNK, SPLICE_F_MOVE);
      if (in == 0)
        {
          shutdown (to, SHUT_WR);
          break;
        }
      if (in < 0)
        {
          if (errno == EINTR)
            continue;
          shutdown (to, SHUT_RDWR);
          shutdown (from, SHUT_RDWR);
          break;
        }
      while (in > 0)
        {
          ssize_t out = splice (pipefd[0], NULL, to, NULL, (size_t) in, SPLICE_F_MOVE);
          if (out < 0 && errno == EINTR)
            continue;
          if (out <= 0)
            {
              shutdown (to, SHUT_RDWR);
              shutdown (from, SHUT_RDWR);
              close (pipefd[0]);
              close (pipefd[1]);
              return;
            }
          in -= out;
        }
    }
  close (pipefd[0]);
  close (pipefd[1]);
}

static void *
pump_thread (void *arg)
{
  struct pump *p = arg;
  pump_run (p->from, p->to);
  conn_release (p->conn);
  free (p);
  return NULL;
}

static int
spawn (void *(*fn) (void *), void *arg)
{
  pthread_t t;
  pthread_attr_t attr;
  int rc;
  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, RELAY_STACK);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create (&t, &attr, fn, arg);
  pthread_attr_destroy (&attr);
  return rc == 0 ? 0 : -1;
}

/* Nagle would hold the tail of every relayed chunk until the previous one is acknowledged
 * (and delayed ACKs make that up to 40 ms): the relay passes data on as it comes, as Go's
 * sockets (Podman's rootlessport) do by default. */
static void
no_delay (int fd)
{
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Connects to the target (inside the namespace: this thread was created after setns), then
 * pumps client → target while a second thread pumps target → client. */
static void *
conn_thread (void *arg)
{
  struct tcp_conn *c = arg;
  struct pump *back;
  struct linger reset = { .l_onoff = 1, .l_linger = 0 };
  c->target = socket (c->mapping->target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->target < 0 || connect (c->target, (const struct sockaddr *) &c->mapping->target, c->mapping->target_len) < 0)
    goto fail;
  no_delay (c->client);
  no_delay (c->target);
  back = malloc (sizeof *back);
  if (!back)
    goto fail;
  *back = (struct pump) { .conn = c, .from = c->target, .to = c->client };
  c->refs = 2;
  if (spawn (pump_thread, back) < 0)
    {
      free (back);
      c->refs = 1;
      goto fail;
    }
  pump_run (c->client, c->target);
  conn_release (c);
  return NULL;
fail:
  /* Reset rather than close politely: the client should see the refusal. */
  setsockopt (c->client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  conn_release (c);
  return NULL;
}

int
relay_tcp_start (int client, const struct fwd_mapping *m)
{
  struct tcp_conn *c = calloc (1, sizeof *c);
  if (!c)
    return -1;
  c->client = client;
  c->target = -1;
  c->mapping = m;
  c->refs = 1;
  pthread_mutex_init (&c->lock, NULL);
  if (spawn (conn_thread, c) < 0)
    {
      pthread_mutex_destroy (&c->lock);
      free (c);
      return -1;
    }
  return 0;
}

/* ------------------------------------------------------------------------ udp ---------- */

#define UDP_MAX_SESSIONS 256
#define UDP_IDLE_SECONDS 60

struct udp_session
{
  int fd; /* -1: free */
  const struct fwd_mapping *mapping;
  struct sockaddr_storage client;
  socklen_t client_len;
  time_t last;
};

static struct udp_session sessions[UDP_MAX_SESSIONS];

void
udp_sessions_init (void)
{
  for (int i = 0; i < UDP_MAX_SESSIONS; i++)
    sessions[i].fd = -1;
}

int
udp_poll_fds (struct pollfd *fds, int max)
{
  int n = 0;
  for (int i = 0; i < UDP_MAX_SESSIONS && n < max; i++)
    if (sessions[i].fd >= 0)
      fds[n++] = (struct pollfd) { .fd = sessions[i].fd, .events = POLLIN };
  return n;
}

static struct udp_session *
session_for (const struct fwd_mapping *m, const struct sockaddr_storage *from, socklen_t len)
{
  struct udp_session *free_slot = NULL;
  for (int i = 0; i < UDP_MAX_SESSIONS; i++)
    {
      struct udp_session *s = &sessions[i];
      if (s->fd < 0)
        {
          if (!free_slot)
            free_slot = s;
          continue;
        }
      if (s->mapping == m && s->client_len == len && memcmp (&s->client, from, len) == 0)
        return s;
    }
  if (!free_slot)
    return NULL;
  free_slot->fd = socket (m->target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (free_slot->fd < 0)
    return NULL;
  if (connect (free_slot->fd, (const struct sockaddr *) &m->target, m->target_len) < 0)
    {
      close (free_slot->fd);
      free_slot->fd = -1;
      return NULL;
    }
  free_slot->mapping = m;
  memcpy (&free_slot->client, from, len);
  free_slot->client_len = len;
  return free_slot;
}

void
udp_from_host (const struct fwd_mapping *m)
{
  static char buf[65536];
  for (;;)
    {
      struct sockaddr_storage from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom (m->fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &len);
      struct udp_session *s;
      if (n < 0)
        return;
      s = session_for (m, &from, len);
      if (!s)
        continue;
      s->last = time (NULL);
      if (send (s->fd, buf, (size_t) n, 0) < 0)
        continue;
    }
}

void
udp_from_target (int fd)
{
  static char buf[65536];
  for (int i = 0; i < UDP_MAX_SESSIONS; i++)
    {
      struct udp_session *s = &sessions[i];
      if (s->fd != fd)
        continue;
      for (;;)
        {
          ssize_t n = recv (fd, buf, sizeof buf, 0);
          if (n < 0)
            return;
          s->last = time (NULL);
          sendto (s->mapping->fd, buf, (size_t) n, 0, (const struct sockaddr *) &s->client, s->client_len);
        }
    }
}

void
udp_expire (void)
{
  time_t now = time (NULL);
  for (int i = 0; i < UDP_MAX_SESSIONS; i++)
    if (sessions[i].fd >= 0 && now - sessions[i].last > UDP_IDLE_SECONDS)
      {
        close (sessions[i].fd);
        sessions[i].fd = -1;
      }
}
