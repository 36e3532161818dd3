/* The programs the helper server starts to run on (@start: slirp4netns, tspod-portfwd): the
 * wait for their readiness, the stdin kept for @write, and their reaping once they end, while
 * the server lives (helper-jobs.c has the requests; its top comment the protocol). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "helper-jobs.h"

/* A program @start started: its stdin (kept until @write) and its pidfd (to reap it). */
struct kept
{
  pid_t pid;
  int stdin_fd;
  int pid_fd;
};

/* Slots are used again once their program is reaped (pid 0: free). */
static struct kept kept[HELPER_MAX_KEPT];
static size_t n_kept;

/* `@write PID [TEXT]`: done at once. */
void
helper_write_kept (struct helper_job *job, int argc, char **argv)
{
  pid_t pid = argc > 2 ? (pid_t) atoi (argv[2]) : 0;
  size_t i;

  for (i = 0; i < n_kept; i++)
    if (kept[i].pid == pid && kept[i].stdin_fd >= 0)
      {
        /* The program may be gone: its stdin then only ends. */
        if (argc > 3)
          tspod_write_all (kept[i].stdin_fd, argv[3], strlen (argv[3]));
        helper_close_fd (&kept[i].stdin_fd);
        job->status = 0;
        return;
      }
  job->status = 1;
  helper_set_message (&job->err, "no program started by this server has that pid (or its stdin was closed)\n");
}

/* A free slot (or room for one): checked before @start forks its program. */
int
helper_keep_available (void)
{
  size_t i;

  for (i = 0; i < n_kept; i++)
    if (kept[i].pid == 0)
      return 1;
  return n_kept < HELPER_MAX_KEPT;
}

void
helper_keep (pid_t pid, int stdin_fd)
{
  size_t i;

  for (i = 0; i < n_kept && kept[i].pid != 0; i++)
    ;
  if (i == HELPER_MAX_KEPT)
    {
      /* Not after helper_keep_available: the program would keep no stdin, and be reaped when
       * the server ends. */
      close (stdin_fd);
      return;
    }
  kept[i] = (struct kept) { pid, stdin_fd, -1 };
  if (i == n_kept)
    n_kept++;
}

static struct kept *
kept_of (pid_t pid)
{
  size_t i;

  for (i = 0; i < n_kept; i++)
    if (pid > 0 && kept[i].pid == pid)
      return &kept[i];
  return NULL;
}

/* @start: the program wrote READY (N bytes) on its fd 3. It runs on; its pidfd moves to the kept
 * ones. */
static void
detach_ready (struct helper_job *job, const char *ready, size_t n)
{
  struct kept *k = kept_of (job->pid);
  char pid[32];
  char *answer;

  snprintf (pid, sizeof (pid), "%d\n", (int) job->pid);
  answer = malloc (strlen (pid) + n);
  if (answer != NULL)
    {
      memcpy (answer, pid, strlen (pid));
      memcpy (answer + strlen (pid), ready, n);
      free (job->out.data);
      job->out = (struct helper_output) { answer, strlen (pid) + n };
    }
  free (job->err.data);
  job->err = (struct helper_output) { NULL, 0 };
  /* Like a spawn whose pipes the caller dropped: what it writes later goes nowhere. */
  helper_close_fd (&job->fds[JOB_ERR]);
  helper_close_fd (&job->fds[JOB_READY]);
  if (k != NULL)
    {
      k->pid_fd = job->fds[JOB_PID];
      job->fds[JOB_PID] = -1;
    }
  else
    helper_close_fd (&job->fds[JOB_PID]);
  job->status = answer != NULL ? 0 : 125;
}

/* @start: the program exited before it was ready; what it said on stderr just before is read
 * first. Its stdin goes. */
static void
detach_failed (struct helper_job *job)
{
  struct kept *k = kept_of (job->pid);

  while (job->fds[JOB_ERR] >= 0)
    {
      struct pollfd p = { job->fds[JOB_ERR], POLLIN, 0 };
      if (poll (&p, 1, 0) <= 0)
        break;
      helper_collect (&job->fds[JOB_ERR], &job->err);
    }
  helper_close_fd (&job->fds[JOB_ERR]);
  helper_close_fd (&job->fds[JOB_READY]);
  if (k != NULL)
    {
      helper_close_fd (&k->stdin_fd);
      k->pid = 0;
    }
  helper_reap_job (job, 1);
}

void
helper_detached_event (struct helper_job *job, int which)
{
  if (which == JOB_READY || job->fds[JOB_READY] >= 0)
    {
      /* Readiness wins over an exit seen at the same time. */
      struct pollfd p = { job->fds[JOB_READY], POLLIN, 0 };
      if (job->fds[JOB_READY] >= 0 && poll (&p, 1, 0) > 0)
        {
          char buf[4096];
          ssize_t n = read (job->fds[JOB_READY], buf, sizeof (buf));
          if (n > 0)
            {
              detach_ready (job, buf, (size_t) n);
              return;
            }
          if (n == 0)
            helper_close_fd (&job->fds[JOB_READY]); /* closed unready: its exit decides */
        }
    }
  if (which == JOB_ERR && job->fds[JOB_ERR] >= 0)
    helper_collect (&job->fds[JOB_ERR], &job->err);
  else if (which == JOB_PID)
    detach_failed (job);
}

size_t
helper_kept_pollfds (struct pollfd *p, size_t max)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < n_kept && n < max; i++)
    if (kept[i].pid_fd >= 0)
      p[n++] = (struct pollfd) { kept[i].pid_fd, POLLIN, 0 };
  return n;
}

void
helper_kept_ready (int pid_fd)
{
  size_t i;

  for (i = 0; i < n_kept; i++)
    if (kept[i].pid_fd == pid_fd)
      {
        while (waitpid (kept[i].pid, NULL, 0) < 0 && errno == EINTR)
          ;
        helper_close_fd (&kept[i].pid_fd);
        helper_close_fd (&kept[i].stdin_fd);
        kept[i].pid = 0;
      }
}
