/* Running `runtime create` / `runtime exec --detach` with the container's stdio: pipes, the
 * caller's own fds (passthrough), or a pty whose master the runtime hands over the console
 * socket with SCM_RIGHTS. The runtime's create process exits once the container is created;
 * the container's init is then re-parented to the monitor (the child subreaper). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "monitor.h"

#define RUNTIME_STDERR_MAX 4096

struct runtime_call
{
  const char **argv;
  int child_fds[3];   /* the runtime's 0/1/2; -1: inherit the monitor's own */
  int capture_fd;     /* our end of the runtime's stderr, read while it runs (terminal mode) */
  int console_fd;     /* listening console socket (terminal mode) */
  char console_path[PATH_MAX];
  int master_fd;
  char stderr_tail[RUNTIME_STDERR_MAX];
  size_t stderr_len;
};

/* Pipes and sockets lose nothing on close: its result is not worth an error path. */
static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static int
set_nonblocking (int fd, struct tspod_error *err)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return tspod_fail (err, errno, NULL, "cannot make fd %d non-blocking", fd);
  return 0;
}

/* A pipe whose monitor end (read end if READ_END, else write end) is non-blocking. */
static int
make_pipe (int *mine, int *theirs, int read_end, struct tspod_error *err)
{
  int fds[2];

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return tspod_fail (err, errno, NULL, "cannot create a pipe");
  *mine = read_end ? fds[0] : fds[1];
  *theirs = read_end ? fds[1] : fds[0];
  return set_nonblocking (*mine, err);
}

static int
open_null (int *fd, struct tspod_error *err)
{
  *fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (*fd < 0)
    return tspod_fail (err, errno, NULL, "cannot open /dev/null");
  return 0;
}

/* Pipes mode: stdout and stderr pipes; stdin a pipe with --stdin, else /dev/null. */
static int
setup_pipes (const struct monitor_opts *o, struct runtime_call *c, struct container_io *io,
             struct tspod_error *err)
{
  if (make_pipe (&io->out_fd, &c->child_fds[1], 1, err) < 0
      || make_pipe (&io->err_fd, &c->child_fds[2], 1, err) < 0)
    return -1;
  if (o->stdin_open)
    return make_pipe (&io->in_fd, &c->child_fds[0], 0, err);
  return open_null (&c->child_fds[0], err);
}

/* Terminal mode: the runtime's own stdout/stderr go to a pipe we read for its errors. */
static int
setup_terminal (const struct monitor_opts *o, struct runtime_call *c, struct tspod_error *err)
{
  if (monitor_listen_unix (o->socket_dir, "console.sock", &c->console_fd, c->console_path, err) < 0)
    return -1;
  if (make_pipe (&c->capture_fd, &c->child_fds[2], 1, err) < 0)
    return -1;
  c->child_fds[1] = fcntl (c->child_fds[2], F_DUPFD_CLOEXEC, 3);
  if (c->child_fds[1] < 0)
    return tspod_fail (err, errno, NULL, "cannot duplicate a pipe");
  return open_null (&c->child_fds[0], err);
}

static int
setup_stdio (const struct monitor_opts *o, struct runtime_call *c, struct container_io *io,
             struct tspod_error *err)
{
  if (o->passthrough)
    return 0;
  if (o->terminal)
    return setup_terminal (o, c, err);
  return setup_pipes (o, c, io, err);
}

static int
build_argv (const struct monitor_opts *o, struct runtime_call *c, struct tspod_error *err)
{
  size_t n_global = 0;
  size_t i = 0;
  size_t k;

  while (o->runtime_args[n_global] != NULL)
    n_global++;
  c->argv = calloc (n_global + 16, sizeof (*c->argv));
  if (c->argv == NULL)
    return tspod_fail (err, errno, NULL, "cannot allocate the runtime's arguments");
  c->argv[i++] = o->runtime;
  for (k = 0; k < n_global; k++)
    c->argv[i++] = o->runtime_args[k];
  c->argv[i++] = o->exec ? "exec" : "create";
  if (o->exec)
    {
      c->argv[i++] = "--detach";
      c->argv[i++] = "--process";
      c->argv[i++] = o->exec_process;
    }
  else
    {
      c->argv[i++] = "--bundle";
      c->argv[i++] = o->bundle;
    }
  c->argv[i++] = "--pid-file";
  c->argv[i++] = o->container_pidfile;
  if (o->terminal)
    {
      c->argv[i++] = "--console-socket";
      c->argv[i++] = c->console_path;
    }
  c->argv[i++] = o->cid;
  return 0;
}

/* In the child: failures go to its stderr, which the monitor reads as the runtime's. */
static void __attribute__ ((noreturn))
exec_runtime (struct runtime_call *c)
{
  int i;

  if (monitor_child_signals () < 0)
    _exit (127);
  for (i = 0; i < 3; i++)
    if (c->child_fds[i] >= 0 && dup2 (c->child_fds[i], i) < 0)
      _exit (127);
  execvp (c->argv[0], (char **) c->argv);
  dprintf (2, "cannot execute the OCI runtime %s: %s\n", c->argv[0], strerror (errno));
  _exit (127);
}

static int
spawn_runtime (struct runtime_call *c, pid_t *pid, struct tspod_error *err)
{
  int i;

  *pid = fork ();
  if (*pid < 0)
    return tspod_fail (err, errno, NULL, "cannot fork the OCI runtime");
  if (*pid == 0)
    exec_runtime (c);
  for (i = 0; i < 3; i++)
    close_fd (&c->child_fds[i]);
  return 0;
}

/* Keeps the last CAP - 1 bytes of a stream in BUF (*LEN used): an error is at the end, warnings
 * before it. */
void
monitor_keep_tail (char *buf, size_t cap, size_t *len, const char *data, size_t n)
{
  size_t room = cap - 1;

  if (n >= room)
    {
      memcpy (buf, data + n - room, room);
      *len = room;
      return;
    }
  if (*len + n > room)
    {
      size_t drop = *len + n - room;
      memmove (buf, buf + drop, *len - drop);
      *len -= drop;
    }
  memcpy (buf + *len, data, n);
  *len += n;
}

/* Reads what FD has now; closes it at EOF. */
static void
read_stderr (struct runtime_call *c, int *fd)
{
  char buf[1024];
  ssize_t n;

  while (*fd >= 0)
    {
      n = read (*fd, buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          close_fd (fd);
          return;
        }
      monitor_keep_tail (c->stderr_tail, sizeof (c->stderr_tail), &c->stderr_len, buf, (size_t) n);
    }
}

static int
receive_master (struct runtime_call *c, struct tspod_error *err)
{
  char name[256];
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int))];
  } control;
  struct iovec iov = { name, sizeof (name) };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = sizeof (control.buf) };
  struct cmsghdr *cmsg;
  ssize_t n;
  int conn;

  conn = accept4 (c->console_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0 && (errno == EAGAIN || errno == EINTR))
    return 0;
  if (conn < 0)
    return tspod_fail (err, errno, NULL, "cannot accept on the console socket");
  do
    n = recvmsg (conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  close (conn);
  if (n < 0)
    return tspod_fail (err, errno, NULL, "cannot receive the pty master");
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS
      || cmsg->cmsg_len != CMSG_LEN (sizeof (int)))
    return tspod_fail (err, 0, NULL, "the runtime sent no pty master over the console socket");
  memcpy (&c->master_fd, CMSG_DATA (cmsg), sizeof (int));
  return 0;
}

static void
drain_signals (int signal_fd)
{
  struct signalfd_siginfo si;

  while (read (signal_fd, &si, sizeof (si)) == (ssize_t) sizeof (si))
    ;
}

/* Serves the console socket and reads the runtime's stderr until the runtime exits. */
static int
wait_runtime (struct runtime_call *c, int signal_fd, pid_t pid, int *status,
              struct tspod_error *err)
{
  struct pollfd p[3];
  pid_t r;

  for (;;)
    {
      nfds_t n = 0;
      p[n++] = (struct pollfd) { signal_fd, POLLIN, 0 };
      if (c->console_fd >= 0 && c->master_fd < 0)
        p[n++] = (struct pollfd) { c->console_fd, POLLIN, 0 };
      if (c->capture_fd >= 0)
        p[n++] = (struct pollfd) { c->capture_fd, POLLIN, 0 };
      if (poll (p, n, -1) < 0 && errno != EINTR)
        return tspod_fail (err, errno, NULL, "poll");
      if (c->console_fd >= 0 && c->master_fd < 0 && receive_master (c, err) < 0)
        return -1;
      read_stderr (c, &c->capture_fd);
      drain_signals (signal_fd);
      r = waitpid (pid, status, WNOHANG);
      if (r < 0 && errno != EINTR)
        return tspod_fail (err, errno, NULL, "cannot wait for the OCI runtime");
      if (r == pid)
        break;
    }
  /* It may have handed the master over and exited before we polled again. */
  if (c->console_fd >= 0 && c->master_fd < 0 && receive_master (c, err) < 0)
    return -1;
  read_stderr (c, &c->capture_fd);
  return 0;
}

void
monitor_flatten (const char *in, size_t len, char *out, size_t size)
{
  size_t used = 0;
  size_t i = 0;

  out[0] = '\0';
  while (i < len)
    {
      size_t start = i;
      size_t end;
      while (i < len && in[i] != '\n')
        i++;
      end = i++;
      while (start < end && (in[start] == ' ' || in[start] == '\t' || in[start] == '\r'))
        start++;
      while (end > start && (in[end - 1] == ' ' || in[end - 1] == '\t' || in[end - 1] == '\r'))
        end--;
      if (end == start)
        continue;
      used += (size_t) snprintf (out + used, size - used, "%s%.*s", used > 0 ? "; " : "",
                                 (int) (end - start), in + start);
      if (used >= size)
        return;
    }
}

static int
runtime_failed (const struct monitor_opts *o, struct runtime_call *c, int status, int *code,
                struct tspod_error *err)
{
  const char *verb = o->exec ? "exec" : "create";
  char text[1024];

  *code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  monitor_flatten (c->stderr_tail, c->stderr_len, text, sizeof (text));
  if (text[0] != '\0')
    return tspod_fail (err, 0, NULL, "%s", text);
  if (WIFEXITED (status))
    return tspod_fail (err, 0, NULL, "%s %s exited with status %d", o->runtime, verb, *code);
  return tspod_fail (err, 0, NULL, "%s %s was killed by signal %d", o->runtime, verb,
                     WTERMSIG (status));
}

static int
read_container_pid (const struct monitor_opts *o, pid_t *pid, struct tspod_error *err)
{
  char buf[32];
  char *end = NULL;
  long value;

  if (tspod_read_small_at (AT_FDCWD, o->container_pidfile, buf, sizeof (buf), err) < 0)
    return -1;
  value = strtol (buf, &end, 10);
  if (end == buf || value <= 0 || value > INT_MAX)
    return tspod_fail (err, 0, NULL, "%s holds no pid", o->container_pidfile);
  *pid = (pid_t) value;
  return 0;
}

static int
adopt_master (struct runtime_call *c, struct container_io *io, struct tspod_error *err)
{
  if (c->master_fd < 0)
    return tspod_fail (err, 0, NULL, "the runtime did not send a pty master");
  if (set_nonblocking (c->master_fd, err) < 0)
    return -1;
  io->out_fd = c->master_fd;
  io->in_fd = fcntl (c->master_fd, F_DUPFD_CLOEXEC, 3);
  if (io->in_fd < 0)
    return tspod_fail (err, errno, NULL, "cannot duplicate the pty master");
  io->pty = 1;
  c->master_fd = -1;
  return 0;
}

static int
run_and_wait (const struct monitor_opts *o, int signal_fd, struct runtime_call *c,
              struct container_io *io, pid_t *pid, int *code, struct tspod_error *err)
{
  pid_t runtime_pid;
  int status;

  if (unlink (o->container_pidfile) < 0 && errno != ENOENT)
    return tspod_fail (err, errno, NULL, "cannot remove %s", o->container_pidfile);
  if (setup_stdio (o, c, io, err) < 0 || build_argv (o, c, err) < 0
      || spawn_runtime (c, &runtime_pid, err) < 0
      || wait_runtime (c, signal_fd, runtime_pid, &status, err) < 0)
    return -1;
  if (! WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      /* In pipes mode the runtime's stderr is the container's: nothing else wrote to it yet. */
      if (io->err_fd >= 0)
        read_stderr (c, &io->err_fd);
      return runtime_failed (o, c, status, code, err);
    }
  if (o->terminal && adopt_master (c, io, err) < 0)
    return -1;
  return read_container_pid (o, pid, err);
}

static void
release (struct runtime_call *c, const struct monitor_opts *o)
{
  int i;

  for (i = 0; i < 3; i++)
    close_fd (&c->child_fds[i]);
  close_fd (&c->capture_fd);
  close_fd (&c->master_fd);
  if (c->console_fd >= 0)
    {
      char path[PATH_MAX];
      close_fd (&c->console_fd);
      if (snprintf (path, sizeof (path), "%s/console.sock", o->socket_dir) < (int) sizeof (path))
        unlink (path);
    }
  free (c->argv);
}

static void
close_io (struct container_io *io)
{
  close_fd (&io->out_fd);
  close_fd (&io->err_fd);
  close_fd (&io->in_fd);
}

int
monitor_runtime_start (const struct monitor_opts *o, int signal_fd, struct container_io *io,
                       pid_t *pid, int *code, struct tspod_error *err)
{
  struct runtime_call *c = calloc (1, sizeof (*c));
  int ret;

  *code = TSPOD_EXIT_FAILURE;
  if (c == NULL)
    return tspod_fail (err, errno, NULL, "cannot allocate memory");
  c->child_fds[0] = c->child_fds[1] = c->child_fds[2] = -1;
  c->capture_fd = c->console_fd = c->master_fd = -1;
  ret = run_and_wait (o, signal_fd, c, io, pid, code, err);
  release (c, o);
  free (c);
  if (ret < 0)
    close_io (io);
  return ret;
}
