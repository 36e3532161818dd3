/*
 * tspod-init: the --init process (pid 1 of the container, like Podman's catatonit and
 * Docker's tini). It runs the command as its child in a process group of its own, forwards
 * the signals a user or `tspod stop` sends to that group, reaps every process orphaned onto
 * it, and exits with the command's status (128+N when signal N killed it).
 *
 * Built static (-static) so it runs in any image, whatever libc the image has or lacks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT, SIGWINCH };
#define N_FORWARDED (sizeof (forwarded) / sizeof (forwarded[0]))

static void
fail (const char *what, int err)
{
  fprintf (stderr, "tspod-init: %s: %s\n", what, strerror (err));
}

static void
noop_handler (int sig)
{
  (void) sig;
}

/* Pid 1 of a pid namespace gets no signal it has no handler for: give each one a handler,
   then block them all so they are taken with sigwaitinfo only. */
static int
setup_signals (sigset_t *set, sigset_t *old)
{
  struct sigaction sa;
  size_t i;

  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = noop_handler;
  sigemptyset (&sa.sa_mask);
  sigemptyset (set);
  for (i = 0; i < N_FORWARDED; i++)
    {
      if (sigaction (forwarded[i], &sa, NULL) < 0)
        return -1;
      sigaddset (set, forwarded[i]);
    }
  if (sigaction (SIGCHLD, &sa, NULL) < 0)
    return -1;
  sigaddset (set, SIGCHLD);
  return sigprocmask (SIG_BLOCK, set, old);
}

static void
run_child (char **argv, const sigset_t *old)
{
  size_t i;

  for (i = 0; i < N_FORWARDED; i++)
    signal (forwarded[i], SIG_DFL);
  signal (SIGCHLD, SIG_DFL);
  if (setpgid (0, 0) < 0)
    fail ("setpgid", errno);
  /* A terminal's foreground group becomes the command's, so ^C and job control reach it. */
  if (isatty (STDIN_FILENO))
    {
      signal (SIGTTOU, SIG_IGN);
      if (tcsetpgrp (STDIN_FILENO, getpid ()) < 0 && errno != ENOTTY)
        fail ("tcsetpgrp", errno);
      signal (SIGTTOU, SIG_DFL);
    }
  sigprocmask (SIG_SETMASK, old, NULL);
  execvp (argv[0], argv);
  fprintf (stderr, "tspod-init: exec %s: %s\n", argv[0], strerror (errno));
  _exit (errno == ENOENT ? 127 : 126);
}

static int
exit_code (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 1;
}

/* The group while the command leads one; the command alone once it left it (setsid). */
static void
forward (pid_t child, int sig)
{
  if (getpgid (child) == child && kill (-child, sig) == 0)
    return;
  if (kill (child, sig) < 0 && errno != ESRCH)
    fail ("kill", errno);
}

/* Reaps whatever has exited; returns 1 once the command has, with its status. */
static int
reap (pid_t child, int *status)
{
  int done = 0;

  for (;;)
    {
      int st;
      pid_t pid = waitpid (-1, &st, WNOHANG);
      if (pid < 0 && errno == EINTR)
        continue;
      if (pid <= 0)
        return done;
      if (pid == child)
        {
          *status = st;
          done = 1;
        }
    }
}

int
main (int argc, char **argv)
{
  sigset_t set, old;
  pid_t child;
  int status = 0;

  /* `tspod-init -- COMMAND...`, as Podman calls catatonit. */
  if (argc > 1 && strcmp (argv[1], "--") == 0)
    {
      argv++;
      argc--;
    }
  if (argc < 2)
    {
      fprintf (stderr, "usage: tspod-init COMMAND [ARG]...\n");
      return 125;
    }
  if (setup_signals (&set, &old) < 0)
    {
      fail ("signals", errno);
      return 125;
    }
  signal (SIGTTIN, SIG_IGN);
  signal (SIGTTOU, SIG_IGN);
  child = fork ();
  if (child < 0)
    {
      fail ("fork", errno);
      return 125;
    }
  if (child == 0)
    run_child (argv + 1, &old);

  for (;;)
    {
      siginfo_t info;
      int sig = sigwaitinfo (&set, &info);
      if (sig < 0)
        {
          if (errno == EINTR)
            continue;
          fail ("sigwaitinfo", errno);
          return 125;
        }
      if (sig != SIGCHLD)
        {
          forward (child, sig);
          continue;
        }
      if (reap (child, &status))
        break;
    }
  /* The rest of the container goes with pid 1; reap what has already exited, for tidiness. */
  reap (-1, &status);
  return exit_code (status);
}
