/* The launcher's helper server. For the commands that need tspod-mount-helper on their critical
 * path (run and start mount a container's root, pull records whiteouts), the launcher forks this
 * server before it becomes node. Node then asks it for a mount-helper verb over a unix socket
 * instead of spawning the helper: a spawn from node forks node's whole heap (2-5 ms each here),
 * a fork of this small process costs a tenth of that, and no exec follows. The verb runs in a
 * child, in the namespaces node runs in, exactly as tspod-mount-helper would run it.
 *
 * It also starts programs for node: the container monitor, and the network's helpers that run
 * on (helper-jobs.c lists the requests).
 *
 * Protocol (pkg/storage/helper-server.ts): requests run side by side, each in a child started
 * as it arrives (at most 16 unanswered); the answers come in request order:
 *   request  [u32 BE length][CWD \0 VERB \0 ARG \0 ...]      CWD empty: stay in the server's
 *   answer   [u32 BE length][i32 BE exit status][u32 BE stdout length][stdout][stderr]
 * The socket is abstract, "\0tspod-helper-PID-RANDOM", named in $_TSPOD_HELPER_SOCKET (without
 * the NUL). Only the process that started the server (node: the launcher's pid) may connect
 * (SO_PEERCRED); the server then stops listening, and ends with that connection or its parent
 * (PR_SET_PDEATHSIG). Node falls back to spawning the helper when there is no server. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "helper-server.h"
#include "helper-jobs.h"

#define MAX_REQUEST (16u << 20)

static int
read_full (int fd, void *buf, size_t len)
{
  char *p = buf;

  while (len > 0)
    {
      ssize_t n = read (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

/* One writev for the whole answer: a reader that takes each read as a frame still works, and
 * node wakes once per answer instead of up to three times. */
static int
answer (int conn, const struct helper_job *job)
{
  uint32_t header[3];
  struct iovec iov[3];

  header[0] = htonl ((uint32_t) (8 + job->out.len + job->err.len));
  header[1] = htonl ((uint32_t) job->status);
  header[2] = htonl ((uint32_t) job->out.len);
  iov[0] = (struct iovec) { header, sizeof (header) };
  iov[1] = (struct iovec) { job->out.data, job->out.len };
  iov[2] = (struct iovec) { job->err.data, job->err.len };
  return tspod_writev_all (conn, iov, 3);
}

/* Reads one request from CONN and starts it as JOB; -1 when the connection is done (or broken). */
static int
read_request (int conn, struct helper_job *job)
{
  uint32_t len_be;
  size_t len;
  char *req;

  if (read_full (conn, &len_be, sizeof (len_be)) < 0)
    return -1;
  len = ntohl (len_be);
  if (len == 0 || len > MAX_REQUEST || (req = malloc (len + 1)) == NULL)
    return -1;
  if (read_full (conn, req, len) < 0)
    {
      free (req);
      return -1;
    }
  req[len] = '\0';
  helper_job_start (job, req, len);
  free (req);
  return 0;
}

#define MAX_JOBS 16
#define MAX_POLL (1 + JOB_FDS * MAX_JOBS + HELPER_MAX_KEPT)

/* Serves CONN until it closes (or breaks): JOBS is a ring of the requests not yet answered. */
static void
serve_connection (int conn)
{
  struct helper_job jobs[MAX_JOBS];
  struct pollfd p[MAX_POLL];
  struct helper_job *job_of[MAX_POLL];
  int which_of[MAX_POLL];
  size_t head = 0;
  size_t count = 0;

  for (;;)
    {
      nfds_t n = 0;
      nfds_t jobs_end;
      size_t i;
      int k;

      /* Answers in order, as soon as the oldest request is done. */
      while (count > 0 && jobs[head].status >= 0)
        {
          int broken = answer (conn, &jobs[head]) < 0;
          helper_job_free (&jobs[head]);
          head = (head + 1) % MAX_JOBS;
          count--;
          if (broken)
            return;
        }
      if (count < MAX_JOBS)
        {
          p[n] = (struct pollfd) { conn, POLLIN, 0 };
          job_of[n++] = NULL;
        }
      for (i = 0; i < count; i++)
        {
          struct helper_job *j = &jobs[(head + i) % MAX_JOBS];
          for (k = 0; k < JOB_FDS; k++)
            if (helper_job_polls (j, k))
              {
                p[n] = (struct pollfd) { j->fds[k], POLLIN, 0 };
                job_of[n] = j;
                which_of[n++] = k;
              }
        }
      jobs_end = n;
      n += helper_kept_pollfds (p + n, MAX_POLL - n);
      if (poll (p, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      for (i = 0; i < n; i++)
        {
          if (p[i].revents == 0)
            continue;
          if (i >= jobs_end)
            helper_kept_ready (p[i].fd);
          else if (job_of[i] != NULL)
            helper_job_ready (job_of[i], which_of[i]);
          else if (read_request (conn, &jobs[(head + count) % MAX_JOBS]) < 0)
            return;
          else
            count++;
        }
    }
}

static void __attribute__ ((noreturn))
serve (int listen_fd, pid_t parent)
{
  sigset_t pipe_signal;
  int null_fd;
  int conn;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
    _exit (0);
  /* Holding node's stdout would keep `$(tspod run -d ...)` waiting for its end. */
  null_fd = open ("/dev/null", O_RDWR);
  if (null_fd < 0 || dup2 (null_fd, 0) < 0 || dup2 (null_fd, 1) < 0 || dup2 (null_fd, 2) < 0)
    _exit (0);
  /* A write to node gone, or to the stdin of a program gone, fails with EPIPE instead. Blocked,
   * not ignored: children get a clear mask, but would keep an ignored disposition over exec. */
  sigemptyset (&pipe_signal);
  sigaddset (&pipe_signal, SIGPIPE);
  if (sigprocmask (SIG_BLOCK, &pipe_signal, NULL) < 0)
    _exit (0);
  for (;;)
    {
      struct ucred cred;
      socklen_t len = sizeof (cred);
      conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0)
        {
          if (errno == EINTR)
            continue;
          _exit (0);
        }
      if (getsockopt (conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == parent)
        break;
      close (conn);
    }
  close (listen_fd);
  serve_connection (conn);
  _exit (0);
}

int
tspod_helper_server_start (void)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char name[64];
  unsigned int nonce = 0;
  pid_t parent = getpid ();
  socklen_t addr_len;
  int listen_fd;
  pid_t pid;

  if (getrandom (&nonce, sizeof (nonce), GRND_NONBLOCK) < 0)
    nonce = (unsigned int) parent ^ (unsigned int) time (NULL);
  snprintf (name, sizeof (name), "tspod-helper-%d-%08x", (int) parent, nonce);
  memcpy (addr.sun_path + 1, name, strlen (name));
  /* The whole of sun_path, NUL-padded: node (libuv) connects to abstract names that way. */
  addr_len = (socklen_t) sizeof (addr);
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0)
    return -1;
  if (bind (listen_fd, (struct sockaddr *) &addr, addr_len) < 0 || listen (listen_fd, 4) < 0)
    {
      close (listen_fd);
      return -1;
    }
  pid = fork ();
  if (pid == 0)
    serve (listen_fd, parent);
  close (listen_fd);
  if (pid < 0)
    return -1;
  return setenv ("_TSPOD_HELPER_SOCKET", name, 1);
}
