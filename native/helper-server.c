/* The launcher's helper server. For the commands that need tspod-mount-helper on their critical
 * path (run and start mount a container's root, pull records whiteouts), the launcher forks this
 * server before it becomes node. Node then asks it for a mount-helper verb over a unix socket
 * instead of spawning the helper: a spawn from node forks node's whole heap (2-5 ms each here),
 * a fork of this small process costs a tenth of that, and no exec follows. The verb runs in a
 * child, in the namespaces node runs in, exactly as tspod-mount-helper would run it.
 *
 * It also starts the container monitor (`@spawn N ENV... PROGRAM ARGS...`: an exec with that
 * environment; the answer comes once the program exited and its stdout and stderr closed, which
 * for the daemonizing monitor is as soon as it has detached).
 *
 * Protocol (pkg/storage/helper-server.ts), one request at a time, answered in order:
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
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "helper-server.h"
#include "mount-helper.h"

#define MAX_REQUEST (16u << 20)
#define MAX_OUTPUT (1u << 20)

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

struct output
{
  char *data;
  size_t len;
};

/* Appends what FD has (dropping what goes over MAX_OUTPUT); closes it at EOF. */
static void
collect (int *fd, struct output *out)
{
  char buf[4096];
  ssize_t n = read (*fd, buf, sizeof (buf));
  char *grown;

  if (n < 0 && errno == EINTR)
    return;
  if (n <= 0)
    {
      close (*fd);
      *fd = -1;
      return;
    }
  if (out->len + (size_t) n > MAX_OUTPUT)
    return;
  grown = realloc (out->data, out->len + (size_t) n);
  if (grown == NULL)
    return;
  memcpy (grown + out->len, buf, (size_t) n);
  out->data = grown;
  out->len += (size_t) n;
}

/* `@spawn N ENV... PROGRAM ARGS...`: execs PROGRAM with exactly those N environment entries. */
static void __attribute__ ((noreturn))
spawn_program (int argc, char **argv)
{
  char *end = NULL;
  long n_env = argc > 2 ? strtol (argv[2], &end, 10) : -1;
  char **envp;
  char **args;
  long i;

  if (end == NULL || *end != '\0' || n_env < 0 || 3 + n_env >= argc)
    {
      fputs ("tspod helper server: malformed @spawn request\n", stderr);
      exit (125);
    }
  envp = calloc ((size_t) n_env + 1, sizeof (*envp));
  if (envp == NULL)
    exit (125);
  for (i = 0; i < n_env; i++)
    envp[i] = argv[3 + i];
  args = argv + 3 + n_env;
  execve (args[0], args, envp);
  fprintf (stderr, "cannot execute %s: %s\n", args[0], strerror (errno));
  exit (127);
}

/* In the child: the verb's stdout and stderr are the pipes, stdin /dev/null. */
static void __attribute__ ((noreturn))
run_verb (char *cwd, int argc, char **argv, int out_fd, int err_fd)
{
  sigset_t none;
  int null_fd = open ("/dev/null", O_RDONLY);

  sigemptyset (&none);
  if (null_fd < 0 || dup2 (null_fd, 0) < 0 || dup2 (out_fd, 1) < 0 || dup2 (err_fd, 2) < 0
      || sigprocmask (SIG_SETMASK, &none, NULL) < 0)
    _exit (125);
  if (cwd[0] != '\0' && chdir (cwd) < 0)
    {
      fprintf (stderr, "chdir %s: %s\n", cwd, strerror (errno));
      exit (1);
    }
  if (strcmp (argv[1], "@spawn") == 0)
    spawn_program (argc, argv);
  exit (tspod_mount_helper (argc, argv));
}

/* Runs the verb of REQ (LEN bytes, NUL-separated) in a child; its status and output. */
static int
run_request (char *req, size_t len, int *status, struct output *out, struct output *err)
{
  char **argv;
  int argc = 0;
  int out_pipe[2];
  int err_pipe[2];
  size_t i;
  pid_t pid;
  int wstatus;

  for (i = 0; i < len; i++)
    if (req[i] == '\0')
      argc++;
  /* CWD, then the verb and its arguments; argv[0] is the helper's name. */
  argv = calloc ((size_t) argc + 1, sizeof (*argv));
  if (argv == NULL || argc < 2)
    {
      free (argv);
      return -1;
    }
  argv[0] = (char *) "tspod-mount-helper";
  for (i = strlen (req) + 1, argc = 1; i < len; i += strlen (req + i) + 1)
    argv[argc++] = req + i;
  argv[argc] = NULL;
  if (pipe2 (out_pipe, O_CLOEXEC) < 0)
    {
      free (argv);
      return -1;
    }
  if (pipe2 (err_pipe, O_CLOEXEC) < 0)
    {
      close (out_pipe[0]);
      close (out_pipe[1]);
      free (argv);
      return -1;
    }
  pid = fork ();
  if (pid == 0)
    run_verb (req, argc, argv, out_pipe[1], err_pipe[1]);
  free (argv);
  close (out_pipe[1]);
  close (err_pipe[1]);
  if (pid < 0)
    {
      close (out_pipe[0]);
      close (err_pipe[0]);
      return -1;
    }
  while (out_pipe[0] >= 0 || err_pipe[0] >= 0)
    {
      struct pollfd p[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        break;
      if (p[0].revents)
        collect (&out_pipe[0], out);
      if (p[1].revents)
        collect (&err_pipe[0], err);
    }
  while (waitpid (pid, &wstatus, 0) < 0)
    if (errno != EINTR)
      return -1;
  *status = WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
  return 0;
}

static int
answer (int conn, int status, const struct output *out, const struct output *err)
{
  uint32_t header[3];

  header[0] = htonl ((uint32_t) (8 + out->len + err->len));
  header[1] = htonl ((uint32_t) status);
  header[2] = htonl ((uint32_t) out->len);
  if (tspod_write_all (conn, header, sizeof (header)) < 0)
    return -1;
  if (out->len > 0 && tspod_write_all (conn, out->data, out->len) < 0)
    return -1;
  if (err->len > 0 && tspod_write_all (conn, err->data, err->len) < 0)
    return -1;
  return 0;
}

/* One request and its answer; -1 when the connection is done (or broken). */
static int
serve_one (int conn)
{
  struct output out = { NULL, 0 };
  struct output err = { NULL, 0 };
  uint32_t len_be;
  size_t len;
  char *req;
  int status = 125;
  int ret;

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
  if (req[len - 1] != '\0' || run_request (req, len, &status, &out, &err) < 0)
    {
      static const char broken[] = "tspod helper server: cannot run the request\n";
      free (out.data);
      out.data = NULL;
      out.len = 0;
      free (err.data);
      err.data = strdup (broken);
      err.len = err.data != NULL ? strlen (broken) : 0;
      status = 125;
    }
  ret = answer (conn, status, &out, &err);
  free (out.data);
  free (err.data);
  free (req);
  return ret;
}

static void __attribute__ ((noreturn))
serve (int listen_fd, pid_t parent)
{
  int null_fd;
  int conn;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
    _exit (0);
  /* Holding node's stdout would keep `$(tspod run -d ...)` waiting for its end. */
  null_fd = open ("/dev/null", O_RDWR);
  if (null_fd < 0 || dup2 (null_fd, 0) < 0 || dup2 (null_fd, 1) < 0 || dup2 (null_fd, 2) < 0)
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
  while (serve_one (conn) == 0)
    ;
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
