/* tspod-monitor: the per-container monitor (tspod's conmon). pkg/runtime/monitor-launch.ts
 * starts it; it detaches (fork, setsid, fork) so it outlives the CLI (unless it was started
 * detached: --ready-fd), becomes the child
 * subreaper, runs `runtime create` (or `runtime exec --detach`), reports the container's pid on
 * the sync fd, then relays the container's stdio to the log and to attach clients until the
 * container exits, writes the exit code, runs the exit command and exits 0.
 *
 *   --cid ID                  container id (the runtime's name for it)
 *   --bundle DIR              OCI bundle holding config.json (create mode)
 *   --runtime PATH            runc or crun (a name without a slash is looked up on $PATH)
 *   --runtime-arg ARG         repeatable: global runtime arguments before the verb (--root DIR)
 *   --exit-dir DIR            DIR/ID (DIR/EXEC_ID for exec) gets the exit code as decimal text,
 *                             written atomically once the container has exited
 *   --socket-dir DIR          DIR/attach: the attach socket (mode 0600); DIR/console.sock while
 *                             the runtime creates a --terminal container
 *   --log-driver DRIVER       k8s-file (default) | json-file | local | journald | none | passthrough
 *   --log-path FILE           the log file (k8s-file, json-file, local)
 *   --name NAME               the container's name (journald: CONTAINER_NAME)
 *   --log-tag TAG             journald: CONTAINER_TAG and SYSLOG_IDENTIFIER
 *   --journal-socket PATH     journald's native socket (default /run/systemd/journal/socket)
 *   --log-size-max BYTES      rotate when FILE has reached BYTES; -1 (default): never
 *   --log-max-files N         rotation keeps FILE.1 .. FILE.N-1; N <= 1 truncates FILE (default 1)
 *   --log-compress            rotated files are gzipped: FILE.1.gz .. FILE.N-1.gz
 *   --terminal                the container has a pty, received over the console socket
 *   --stdin                   keep stdin open: attach clients write into it (else /dev/null)
 *   --passthrough-fds         the container's stdio is the monitor's inherited 0/1/2 (implied by
 *                             --log-driver passthrough): no pipes, nothing relayed or logged
 *   --sync-fd N               gets exactly one JSON line, then is closed: {"pid":1234} once
 *                             create succeeded, or {"error":"...","code":N} (code: the
 *                             runtime's exit status, 125 when the monitor failed on its own)
 *   --sync-socket PATH        the sync fd is a connection to this unix socket, where the caller
 *                             listens (when it had the monitor started by the launcher's helper
 *                             server rather than spawning it with an inherited fd)
 *   --ready-fd N              started in a session of its own by a parent that reaps it (the
 *                             launcher's helper server, `@start`): no fork to detach; "ready\n"
 *                             on N, then N closed, once set up (where the forks would have
 *                             ended the process the caller waits for)
 *   --sync-start              after {"pid":N} the sync fd stays open: the caller writes "start\n"
 *                             when the container may run, the monitor runs `runtime start` and
 *                             answers {"started":true} or {"error":"...","code":N}, then closes
 *                             it. A caller that closes it first gets the created container
 *                             deleted (it then exits as any container does)
 *   --start-fifo PATH         with --sync-start, for crun: start as `crun start` does, without
 *                             its exec (~3 ms): PATH (crun's exec.fifo) opened for writing,
 *                             removed, one NUL byte written. `runtime start` when that cannot
 *                             be done (no reader: the container's init is gone). Only for specs
 *                             whose start does nothing else (no poststart hooks, no
 *                             NOTIFY_SOCKET for crun), as tspod's are
 *   --release-runtime         after the exit, before the exit file: `runtime delete --force`
 *   --release-mount PATH      repeatable: unmounted then too (stacked mounts all, busy ones
 *                             lazily), while the runtime deletes
 *   --pidfile FILE            the monitor's own pid (written before the sync message)
 *   --container-pidfile FILE  passed to the runtime as --pid-file (default DIR/container.pid,
 *                             DIR/exec.pid for exec, DIR the socket dir)
 *   --exit-command PATH       run after the exit file is written, stdio /dev/null, not waited for
 *   --exit-command-arg ARG    repeatable: its arguments
 *   --exec                    exec mode: `runtime exec --detach --pid-file F --process FILE
 *   --exec-process FILE         [--console-socket S] ID`; the exit file is exit-dir/EXEC_ID
 *   --exec-id EXEC_ID
 *   --exec-attach             hold the output until the first attach client connects (at most
 *                             60 s): an exec'd process runs before the caller can attach
 *   --health-interval-ms MS   with --health-command: run it MS after the start and MS after
 *   --health-command PATH       each check ended (one at a time, detached, stdio /dev/null),
 *   --health-command-arg ARG    until the container exits (tspod healthcheck run ID)
 *   --sdnotify-proxy PATH     --sdnotify=container: bind a datagram socket at PATH (mode 0777)
 *   --sdnotify-socket PATH      and relay what the container sends to it to PATH (systemd's
 *                               NOTIFY_SOCKET) from READY=1 on, MAINPID set to the container's pid
 *   --syslog                  also send the monitor's own errors to syslog
 *   --log-level LEVEL, --no-new-keyring   accepted for conmon compatibility, ignored
 *
 * Attach frames on DIR/attach: [type u8][length u32 big-endian][payload]. Monitor to client:
 * 1 stdout, 2 stderr, 5 exit (decimal exit code; then the monitor closes the connection).
 * Client to monitor: 0 stdin data, 3 resize ("ROWS COLS"), 4 stdin EOF, 6 detach.
 *
 * SIGTERM, SIGINT and SIGHUP are ignored: the CLI stops containers through the runtime. Errors
 * before the sync message go to the sync fd; after it to stderr (/dev/null) and syslog. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "monitor.h"

#define ATTACH_FLUSH_MS 2000
/* How long an attached `run --rm` may take to remove the container before the exit command
 * runs anyway (it does the same, and finds done what the CLI did). */
#define CLEANUP_WAIT_MS 30000

int64_t
monitor_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
monitor_child_signals (void)
{
  sigset_t none;

  sigemptyset (&none);
  return sigprocmask (SIG_SETMASK, &none, NULL);
}

void
monitor_format_error (const struct tspod_error *err, char *buf, size_t size)
{
  const char *why = err->detail[0] != '\0' ? err->detail : NULL;

  if (why == NULL && err->errnum != 0)
    why = strerror (err->errnum);
  if (why != NULL)
    snprintf (buf, size, "%s: %s", err->what, why);
  else
    snprintf (buf, size, "%s", err->what);
}

void
monitor_report (const struct monitor_opts *o, const struct tspod_error *err)
{
  char msg[2200];

  monitor_format_error (err, msg, sizeof (msg));
  fprintf (stderr, "tspod-monitor: %s\n", msg);
  if (o->syslog)
    syslog (LOG_ERR, "container %s: %s", o->cid != NULL ? o->cid : "?", msg);
}

/* ---------------------------------------------------------------- process setup ----------- */

/* The caller's child (A) forks B and reports B's status; B starts a session and forks the
 * monitor (C), which is then nobody's child but init's (or the caller's subreaper's). */
static int
daemonize (struct tspod_error *err)
{
  pid_t pid;
  int status;

  pid = fork ();
  if (pid < 0)
    return tspod_fail (err, errno, NULL, "cannot fork");
  if (pid > 0)
    {
      while (waitpid (pid, &status, 0) < 0)
        if (errno != EINTR)
          _exit (1);
      _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 1);
    }
  if (setsid () < 0)
    return tspod_fail (err, errno, NULL, "cannot start a session");
  pid = fork ();
  if (pid < 0)
    return tspod_fail (err, errno, NULL, "cannot fork");
  if (pid > 0)
    _exit (0);
  return 0;
}

static int
null_stdio (struct tspod_error *err)
{
  int fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int i;

  if (fd < 0)
    return tspod_fail (err, errno, NULL, "cannot open /dev/null");
  for (i = 0; i < 3; i++)
    if (dup2 (fd, i) < 0)
      return tspod_fail (err, errno, NULL, "cannot redirect fd %d to /dev/null", i);
  if (close (fd) < 0)
    return tspod_fail (err, errno, NULL, "cannot close /dev/null");
  return 0;
}

/* SIGCHLD drives the exit; SIGTERM, SIGINT, SIGHUP and SIGQUIT are read and ignored; SIGPIPE
 * stays blocked so a write to a gone reader fails with EPIPE. Children get a clean mask. */
static int
signal_setup (int *signal_fd, struct tspod_error *err)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGQUIT);
  sigaddset (&set, SIGPIPE);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    return tspod_fail (err, errno, NULL, "cannot block signals");
  sigdelset (&set, SIGPIPE);
  *signal_fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (*signal_fd < 0)
    return tspod_fail (err, errno, NULL, "cannot create a signalfd");
  return 0;
}

static int
write_pidfile (const struct monitor_opts *o, struct tspod_error *err)
{
  char pid[32];

  if (o->pidfile == NULL)
    return 0;
  snprintf (pid, sizeof (pid), "%d", (int) getpid ());
  return tspod_write_atomic (o->pidfile, pid, err);
}

static int
prepare (struct monitor_opts *o, int *signal_fd, struct tspod_error *err)
{
  if (o->sync_fd >= 0 && fcntl (o->sync_fd, F_SETFD, FD_CLOEXEC) < 0)
    return tspod_fail (err, errno, NULL, "bad --sync-fd %d", o->sync_fd);
  if (o->ready_fd < 0 && daemonize (err) < 0)
    return -1;
  if (! o->passthrough && null_stdio (err) < 0)
    return -1;
  if (chdir ("/") < 0)
    return tspod_fail (err, errno, NULL, "cannot change directory to /");
  if (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return tspod_fail (err, errno, NULL, "cannot become a child subreaper");
  if (signal_setup (signal_fd, err) < 0)
    return -1;
  if (write_pidfile (o, err) < 0)
    return -1;
  if (o->ready_fd >= 0)
    {
      /* The parent goes on; a failed write only means nobody waits. */
      tspod_write_all (o->ready_fd, "ready\n", 6);
      close (o->ready_fd);
      o->ready_fd = -1;
    }
  return 0;
}

/* Everything after the sync message: relay, then the exit protocol. */
static int
monitor_run (const struct monitor_opts *o, int signal_fd, struct container_io *io, pid_t pid,
             struct log_writer *log, struct attach_server *attach, struct start_gate *gate)
{
  struct tspod_error err;
  int status = 0;
  int code;
  int cleaned = 0;
  int ret = 0;

  if (monitor_relay (o, signal_fd, io, pid, log, attach, gate, &status) < 0)
    return -1;
  code = monitor_exit_code (status);
  /* The log is complete before anyone learns of the exit (exit file, exit frame): a
   * `logs` right after `run` must see the last partial line too. */
  if (log_writer_close (log, &err) < 0)
    monitor_report (o, &err);
  /* So is the release: whoever learns of the exit finds the runtime's record and the mounts
   * gone, and need not start processes of its own for them. */
  monitor_release (o);
  if (monitor_write_exit_file (o, code, &err) < 0)
    {
      monitor_report (o, &err);
      ret = -1;
    }
  if (attach_server_finish (attach, code, ATTACH_FLUSH_MS, CLEANUP_WAIT_MS, &cleaned, &err) < 0)
    monitor_report (o, &err);
  /* An attached `run --rm` removed the container itself: a second cleanup would only find
   * nothing to do, at the cost of starting tspod again. */
  if (! cleaned && monitor_run_exit_command (o, &err) < 0)
    {
      monitor_report (o, &err);
      ret = -1;
    }
  return ret;
}

int
main (int argc, char **argv)
{
  struct monitor_opts o = { .log_driver = MONITOR_LOG_K8S_FILE, .log_size_max = -1,
                            .log_max_files = 1, .sync_fd = -1, .ready_fd = -1 };
  struct container_io io = { -1, -1, -1, 0 };
  struct tspod_error err;
  struct log_writer *log;
  struct attach_server *attach;
  struct start_gate gate;
  int signal_fd = -1;
  int code = TSPOD_EXIT_FAILURE;
  pid_t pid;

  if (monitor_parse_args (argc, argv, &o, &err) < 0
      || (o.sync_socket != NULL && monitor_connect_sync_socket (&o, &err) < 0))
    {
      monitor_sync_error (&o, &err, TSPOD_EXIT_FAILURE);
      return TSPOD_EXIT_FAILURE;
    }
  if (o.syslog)
    openlog ("tspod-monitor", LOG_PID, LOG_USER);
  if (prepare (&o, &signal_fd, &err) < 0 || (log = log_writer_new (&o, &err)) == NULL
      || (attach = attach_server_new (&o, &err)) == NULL || notify_proxy_open (&o, &err) < 0)
    {
      monitor_sync_error (&o, &err, TSPOD_EXIT_FAILURE);
      return TSPOD_EXIT_FAILURE;
    }
  if (monitor_runtime_start (&o, signal_fd, &io, &pid, &code, &err) < 0)
    {
      /* The socket goes first: a caller that reads the error finds nothing left behind. */
      struct tspod_error cleanup;
      int cleaned;
      if (attach_server_finish (attach, -1, 0, 0, &cleaned, &cleanup) < 0)
        monitor_report (&o, &cleanup);
      monitor_sync_error (&o, &err, code);
      return 1;
    }
  monitor_sync_pid (&o, pid);
  gate = (struct start_gate) { .fd = o.sync_start ? o.sync_fd : -1, .serve = monitor_serve_start, .o = &o };
  if (o.passthrough && null_stdio (&err) < 0)
    monitor_report (&o, &err);
  return monitor_run (&o, signal_fd, &io, pid, log, attach, o.sync_start ? &gate : NULL) < 0 ? 1 : 0;
}
