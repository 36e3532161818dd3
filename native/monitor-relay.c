/* The monitor's event loop, from the sync message to the container's end: container output
 * to the log and to every attach client, client stdin into the container, SIGCHLD to the exit.
 * While an attach client is behind (monitor-attach.c) the output is not read, for a bounded
 * time.
 * Once the container's init has exited its output is drained until EOF, or until it has been
 * quiet for DRAIN_IDLE_MS (a daemon it left behind may hold the pipes), at most DRAIN_MAX_MS. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

#define READ_CHUNK 8192
#define DRAIN_IDLE_MS 500
#define DRAIN_MAX_MS 5000
#define HOLD_MAX_MS 60000
#define ORPHAN_CHECK_MS 1000
#define FIXED_FDS 7
#define MAX_POLL (FIXED_FDS + 64)

struct relay
{
  const struct monitor_opts *o;
  int signal_fd;
  struct container_io *io;
  pid_t pid;
  struct log_writer *log;
  struct attach_server *attach;
  struct stdin_sink in;
  int exited;
  int status;
  int not_our_child; /* waitpid says ECHILD: watch the pid instead */
  int64_t last_output_at;
  int64_t exit_at;
  int held;
  int64_t hold_until;
  int backlogged; /* an attach client is behind: output is not read meanwhile */
  int log_failed;
  struct health_timer health;
  struct start_gate *gate;
};

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
mark_exited (struct relay *r, int status)
{
  health_timer_stop (&r->health);
  r->exited = 1;
  r->status = status;
  r->exit_at = monitor_now_ms ();
}

/* Reaps every child: the container's init, and strays a subreaper inherits (ignored). */
static void
reap (struct relay *r)
{
  int status;
  pid_t p;

  while ((p = waitpid (-1, &status, WNOHANG)) > 0)
    {
      if (p == r->pid && ! r->exited)
        mark_exited (r, status);
      else if (! r->exited)
        health_timer_reaped (&r->health, r->o, p);
    }
  if (p < 0 && errno == ECHILD && ! r->exited)
    {
      /* Only if the runtime left the process somewhere else: its status is lost then. */
      r->not_our_child = 1;
      if (kill (r->pid, 0) < 0 && errno == ESRCH)
        mark_exited (r, 255 << 8);
    }
}

static void
handle_signals (struct relay *r)
{
  struct signalfd_siginfo si;

  /* SIGTERM, SIGINT, SIGHUP, SIGQUIT: read and ignored. */
  while (read (r->signal_fd, &si, sizeof (si)) == (ssize_t) sizeof (si))
    ;
  reap (r);
}

static void
relay_output (struct relay *r, int *fd, int stream)
{
  char buf[READ_CHUNK];
  struct tspod_error err;
  ssize_t n;

  n = read (*fd, buf, sizeof (buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      /* EOF, or EIO from a pty master whose slave side is all closed. */
      close_fd (fd);
      return;
    }
  r->last_output_at = monitor_now_ms ();
  if (log_writer_write (r->log, stream, buf, (size_t) n, &err) < 0 && ! r->log_failed)
    {
      r->log_failed = 1;
      monitor_report (r->o, &err);
    }
  attach_server_broadcast (r->attach, stream, buf, (size_t) n);
}

static void
stdin_gone (struct relay *r)
{
  r->in.len = 0;
  r->in.accepting = 0;
  if (! r->in.pty)
    close_fd (&r->in.fd);
}

static void
flush_stdin (struct relay *r)
{
  struct stdin_sink *in = &r->in;
  ssize_t n;

  while (in->len > 0 && in->fd >= 0)
    {
      n = write (in->fd, in->buf, in->len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n < 0)
        {
          /* EPIPE: the container closed its stdin; EIO: the pty is gone. */
          stdin_gone (r);
          return;
        }
      memmove (in->buf, in->buf + n, in->len - (size_t) n);
      in->len -= (size_t) n;
    }
  if (in->len == 0 && in->eof_requested && ! in->pty)
    {
      in->eof_requested = 0;
      in->accepting = 0;
      close_fd (&in->fd);
    }
}

static int
outputs_open (const struct relay *r)
{
  return r->io->out_fd >= 0 || r->io->err_fd >= 0;
}

static void
update_hold (struct relay *r)
{
  if (r->held && (attach_server_clients (r->attach) > 0 || monitor_now_ms () >= r->hold_until))
    {
      r->held = 0;
      /* Output held for the client was never read: the drain starts now, not at the exit. */
      r->last_output_at = monitor_now_ms ();
    }
}

static int64_t
drain_deadline (const struct relay *r)
{
  int64_t idle = (r->last_output_at > r->exit_at ? r->last_output_at : r->exit_at) + DRAIN_IDLE_MS;
  int64_t hard = r->exit_at + DRAIN_MAX_MS;

  return idle < hard ? idle : hard;
}

/* Waiting for a client that is behind does not count as the output being quiet. */
static void
update_backlog (struct relay *r)
{
  r->backlogged = attach_server_backlogged (r->attach);
  if (r->backlogged)
    r->last_output_at = monitor_now_ms ();
}

static int
finished (const struct relay *r)
{
  if (! r->exited || r->held || r->backlogged)
    return 0;
  return ! outputs_open (r) || monitor_now_ms () >= drain_deadline (r);
}

/* The earlier of two deadlines, -1 meaning none. */
static int64_t
earliest (int64_t a, int64_t b)
{
  if (a < 0 || (b >= 0 && b < a))
    return b;
  return a;
}

static int
poll_timeout (const struct relay *r)
{
  int64_t now = monitor_now_ms ();
  int64_t until = -1;

  if (r->gate != NULL && r->gate->requested)
    return 0;
  if (r->held)
    until = r->hold_until;
  else if (r->exited)
    until = drain_deadline (r);
  if (r->not_our_child && ! r->exited)
    until = earliest (until, now + ORPHAN_CHECK_MS);
  if (r->backlogged)
    until = earliest (until, attach_server_stall_deadline (r->attach));
  until = earliest (until, health_timer_deadline (&r->health));
  if (until < 0)
    return -1;
  return until <= now ? 0 : (int) (until - now);
}

static size_t
build_pollfds (const struct relay *r, struct pollfd *p)
{
  int relaying = ! r->held && ! r->backlogged;
  int want_input = r->in.len < STDIN_BUF_MAX;

  p[0] = (struct pollfd) { r->signal_fd, POLLIN, 0 };
  p[1] = (struct pollfd) { attach_server_listen_fd (r->attach), POLLIN, 0 };
  p[2] = (struct pollfd) { relaying ? r->io->out_fd : -1, POLLIN, 0 };
  p[3] = (struct pollfd) { relaying ? r->io->err_fd : -1, POLLIN, 0 };
  p[4] = (struct pollfd) { r->in.len > 0 ? r->in.fd : -1, POLLOUT, 0 };
  p[5] = (struct pollfd) { r->exited ? -1 : notify_proxy_fd (), POLLIN, 0 };
  p[6] = (struct pollfd) { r->gate != NULL && ! r->gate->requested ? r->gate->fd : -1, POLLIN, 0 };
  return FIXED_FDS + attach_server_pollfds (r->attach, p + FIXED_FDS, MAX_POLL - FIXED_FDS,
                                            want_input);
}

/* Reads the start request; the caller's leaving (EOF, an error, anything but "start") is
 * served at once. */
static void
read_start_request (struct start_gate *g)
{
  ssize_t n = read (g->fd, g->line + g->len, sizeof (g->line) - 1 - g->len);
  char *nl;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n > 0)
    {
      g->len += (size_t) n;
      g->line[g->len] = '\0';
      nl = strchr (g->line, '\n');
      if (nl == NULL && g->len < sizeof (g->line) - 1)
        return;
      if (nl != NULL && nl - g->line == 5 && strncmp (g->line, "start", 5) == 0)
        {
          g->requested = 1;
          return;
        }
    }
  g->fd = -1;
  g->serve (g, 0);
}

/* Served once no client came in this iteration: those that did get their frames read first. */
static void
serve_start (struct relay *r, int accepted)
{
  if (r->gate == NULL || ! r->gate->requested || accepted > 0)
    return;
  r->gate->requested = 0;
  r->gate->fd = -1;
  r->gate->serve (r->gate, 1);
}

static int
relay_once (struct relay *r)
{
  int accepted = 0;
  struct pollfd p[MAX_POLL];
  size_t n = build_pollfds (r, p);
  struct tspod_error err;

  if (poll (p, n, poll_timeout (r)) < 0)
    {
      if (errno == EINTR)
        return 0;
      tspod_fail (&err, errno, NULL, "poll");
      monitor_report (r->o, &err);
      return -1;
    }
  if (p[0].revents)
    handle_signals (r);
  else if (r->not_our_child)
    reap (r);
  attach_server_handle (r->attach, p + FIXED_FDS, n - FIXED_FDS, &r->in);
  /* Accept before relaying: a client whose connect() returned before `runtime start` is in
   * the backlog by the time any output can be read, and must get all of it. */
  if (p[1].revents)
    accepted = attach_server_accept (r->attach);
  if (p[6].revents)
    read_start_request (r->gate);
  serve_start (r, accepted);
  update_hold (r);
  if (p[2].revents)
    relay_output (r, &r->io->out_fd, FRAME_STDOUT);
  if (p[3].revents)
    relay_output (r, &r->io->err_fd, FRAME_STDERR);
  flush_stdin (r);
  update_backlog (r);
  health_timer_tick (&r->health, r->o);
  if (p[5].revents)
    notify_proxy_handle (r->o, r->pid);
  return 0;
}

int
monitor_relay (const struct monitor_opts *o, int signal_fd, struct container_io *io, pid_t pid,
               struct log_writer *log, struct attach_server *attach, struct start_gate *gate,
               int *status)
{
  struct relay r = { .o = o, .signal_fd = signal_fd, .io = io, .pid = pid, .log = log,
                     .attach = attach, .gate = gate };

  r.in.fd = io->in_fd;
  r.in.pty = io->pty;
  r.in.accepting = o->stdin_open;
  r.held = o->exec_attach;
  r.hold_until = monitor_now_ms () + HOLD_MAX_MS;
  health_timer_init (&r.health, o);
  /* An exec'd process may be gone before the runtime returned. */
  reap (&r);
  while (! finished (&r))
    if (relay_once (&r) < 0)
      return -1;
  *status = r.status;
  close_fd (&io->out_fd);
  close_fd (&io->err_fd);
  close_fd (&r.in.fd);
  io->in_fd = -1;
  free (r.in.buf);
  return 0;
}
