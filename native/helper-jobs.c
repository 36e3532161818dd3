/* The helper server's jobs (helper-jobs.h). Four kinds of request:
 *   VERB ARGS...                  a mount-helper verb, run in a child (tspod_mount_helper)
 *   @spawn N ENV... PROGRAM ARGS  PROGRAM exec'd with exactly those N environment entries; done
 *                                 once it exited and closed its output (the daemonizing monitor
 *                                 does both as soon as it has detached)
 *   @start N ENV... PROGRAM ARGS  PROGRAM started in a session of its own, stdout /dev/null,
 *                                 to run on (slirp4netns, tspod-portfwd); done once it writes
 *                                 on its fd 3 (the answer's stdout: "PID\n" and what it wrote)
 *                                 or exits first (its status and stderr). The server keeps its
 *                                 stdin open until @write
 *   @write PID [TEXT]             writes TEXT to the stdin of the program @start started as PID,
 *                                 and closes it (tspod-portfwd reads the pid it must watch) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "helper-jobs.h"
#include "mount-helper.h"

#define MAX_OUTPUT (1u << 20)

void
helper_set_message (struct helper_output *out, const char *text)
{
  free (out->data);
  out->data = strdup (text);
  out->len = out->data != NULL ? strlen (text) : 0;
}

static void
fail_job (struct helper_job *job, const char *why)
{
  job->status = 125;
  helper_set_message (&job->err, why);
}

/* Appends what FD has (dropping what goes over MAX_OUTPUT); closes it at EOF. */
void
helper_collect (int *fd, struct helper_output *out)
{
  char buf[4096];
  ssize_t n = read (*fd, buf, sizeof (buf));
  char *grown;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
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

void
helper_close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* The N environment entries after argv[2] and the program's argv after them; NULL when
 * malformed. */
static char **
program_env (int argc, char **argv, char ***args)
{
  char *end = NULL;
  long n_env = argc > 2 ? strtol (argv[2], &end, 10) : -1;
  char **envp;
  long i;

  if (end == NULL || *end != '\0' || n_env < 0 || 3 + n_env >= argc)
    return NULL;
  envp = calloc ((size_t) n_env + 1, sizeof (*envp));
  if (envp == NULL)
    return NULL;
  for (i = 0; i < n_env; i++)
    envp[i] = argv[3 + i];
  *args = argv + 3 + n_env;
  return envp;
}

static void __attribute__ ((noreturn))
exec_program (int argc, char **argv)
{
  char **args;
  char **envp = program_env (argc, argv, &args);

  if (envp == NULL)
    {
      fprintf (stderr, "tspod helper server: malformed %s request\n", argv[1]);
      exit (125);
    }
  execve (args[0], args, envp);
  fprintf (stderr, "cannot execute %s: %s\n", args[0], strerror (errno));
  exit (127);
}

/* In the child: stdin /dev/null (or @start's pipe), stdout OUT_FD, stderr ERR_FD, and for
 * @start the ready pipe as fd 3, in a session of its own. */
static void __attribute__ ((noreturn))
run_child (char *cwd, int argc, char **argv, const int fds[4])
{
  sigset_t none;
  int in_fd = fds[0] >= 0 ? fds[0] : open ("/dev/null", O_RDONLY);
  int out_fd = fds[1] >= 0 ? fds[1] : open ("/dev/null", O_WRONLY);

  sigemptyset (&none);
  if (in_fd < 0 || out_fd < 0 || dup2 (in_fd, 0) < 0 || dup2 (out_fd, 1) < 0
      || dup2 (fds[2], 2) < 0 || (fds[3] >= 0 && dup2 (fds[3], 3) < 0)
      || sigprocmask (SIG_SETMASK, &none, NULL) < 0)
    _exit (125);
  if (fds[3] >= 0 && setsid () < 0)
    _exit (125);
  if (cwd[0] != '\0' && chdir (cwd) < 0)
    {
      fprintf (stderr, "chdir %s: %s\n", cwd, strerror (errno));
      exit (1);
    }
  if (strcmp (argv[1], "@spawn") == 0 || strcmp (argv[1], "@start") == 0)
    exec_program (argc, argv);
  exit (tspod_mount_helper (argc, argv));
}

/* Pipes for the child: [read end, write end] each; -1 where the kind of job needs none. */
static int
make_pipes (int pipes[4][2], int detached)
{
  int i;

  /* The child's stdin, stdout, stderr and ready fd: a verb's output is collected; a program
   * @start starts gets a kept stdin and a ready fd, its stdout goes to /dev/null. */
  static const int wanted[2][4] = { { 0, 1, 1, 0 }, { 1, 0, 1, 1 } };

  for (i = 0; i < 4; i++)
    pipes[i][0] = pipes[i][1] = -1;
  for (i = 0; i < 4; i++)
    if (wanted[detached != 0][i] && pipe2 (pipes[i], O_CLOEXEC) < 0)
      return -1;
  return 0;
}

static void
close_pipes (int pipes[4][2])
{
  int i;

  for (i = 0; i < 4; i++)
    {
      helper_close_fd (&pipes[i][0]);
      helper_close_fd (&pipes[i][1]);
    }
}

void
helper_job_start (struct helper_job *job, char *req, size_t len)
{
  char **argv;
  int argc = 0;
  int pipes[4][2];
  int child_fds[4];
  int detached;
  size_t i;
  pid_t pid;

  *job = (struct helper_job) { .pid = -1, .fds = { -1, -1, -1, -1 }, .status = -1 };
  for (i = 0; i < len; i++)
    if (req[i] == '\0')
      argc++;
  /* CWD, then the verb and its arguments; argv[0] is the helper's name. */
  argv = argc >= 2 && req[len - 1] == '\0' ? calloc ((size_t) argc + 1, sizeof (*argv)) : NULL;
  if (argv == NULL)
    {
      fail_job (job, "tspod helper server: cannot run the request\n");
      return;
    }
  argv[0] = (char *) "tspod-mount-helper";
  for (i = strlen (req) + 1, argc = 1; i < len; i += strlen (req + i) + 1)
    argv[argc++] = req + i;
  argv[argc] = NULL;
  if (strcmp (argv[1], "@write") == 0)
    {
      helper_write_kept (job, argc, argv);
      free (argv);
      return;
    }
  detached = strcmp (argv[1], "@start") == 0;
  if (detached && !helper_keep_available ())
    {
      /* The caller falls back to starting it itself (a monitor: to @spawn). */
      free (argv);
      fail_job (job, "tspod helper server: too many programs started by this command\n");
      return;
    }
  if (make_pipes (pipes, detached) < 0)
    {
      close_pipes (pipes);
      free (argv);
      fail_job (job, "tspod helper server: cannot make pipes\n");
      return;
    }
  child_fds[0] = pipes[0][0];
  child_fds[1] = pipes[1][1];
  child_fds[2] = pipes[2][1];
  child_fds[3] = pipes[3][1];
  pid = fork ();
  if (pid == 0)
    run_child (req, argc, argv, child_fds);
  free (argv);
  helper_close_fd (&pipes[0][0]);
  helper_close_fd (&pipes[1][1]);
  helper_close_fd (&pipes[2][1]);
  helper_close_fd (&pipes[3][1]);
  if (pid < 0)
    {
      close_pipes (pipes);
      fail_job (job, "tspod helper server: cannot fork\n");
      return;
    }
  job->pid = pid;
  job->fds[JOB_OUT] = pipes[1][0];
  job->fds[JOB_ERR] = pipes[2][0];
  job->fds[JOB_READY] = pipes[3][0];
  /* Without pidfds (Linux < 5.3) a verb's child is reaped blocking once its pipes closed. */
  job->fds[JOB_PID] = (int) syscall (SYS_pidfd_open, pid, 0);
  if (detached)
    {
      if (job->fds[JOB_PID] < 0)
        {
          /* A program left running must be reaped when it ends: without a pidfd, no @start. */
          kill (pid, SIGKILL);
          waitpid (pid, NULL, 0);
          helper_close_fd (&pipes[0][1]);
          helper_close_fd (&job->fds[JOB_ERR]);
          helper_close_fd (&job->fds[JOB_READY]);
          fail_job (job, "tspod helper server: @start needs pidfds (Linux 5.3)\n");
          return;
        }
      job->detached = 1;
      helper_keep (pid, pipes[0][1]);
    }
}

/* The child's status once it exited (BLOCKING: wait for it). */
void
helper_reap_job (struct helper_job *job, int blocking)
{
  int wstatus;
  pid_t r;

  do
    r = waitpid (job->pid, &wstatus, blocking ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return;
  helper_close_fd (&job->fds[JOB_PID]);
  job->status = r < 0 ? 125 : WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
}

int
helper_job_polls (const struct helper_job *job, int which)
{
  if (job->status >= 0 || job->fds[which] < 0)
    return 0;
  /* A verb's exit counts once its pipes are read to their end. */
  return job->detached || which != JOB_PID || (job->fds[JOB_OUT] < 0 && job->fds[JOB_ERR] < 0);
}

void
helper_job_ready (struct helper_job *job, int which)
{
  /* Done by an earlier event of the same poll (a ready line read with the exit seen). */
  if (job->status >= 0)
    return;
  if (job->detached)
    {
      helper_detached_event (job, which);
      return;
    }
  if (which == JOB_PID)
    helper_reap_job (job, 0);
  else
    helper_collect (&job->fds[which], which == JOB_OUT ? &job->out : &job->err);
  if (job->status < 0 && job->fds[JOB_OUT] < 0 && job->fds[JOB_ERR] < 0 && job->fds[JOB_PID] < 0)
    helper_reap_job (job, 1);
}

void
helper_job_free (struct helper_job *job)
{
  int i;

  for (i = 0; i < JOB_FDS; i++)
    helper_close_fd (&job->fds[i]);
  free (job->out.data);
  free (job->err.data);
}

