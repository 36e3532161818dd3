/* The runtime's verbs besides create, run by the monitor so that the CLI (a Node process, for
 * which every spawn costs a fork of its whole heap) need not: `runtime start` when the caller
 * asks for it over the sync fd (--sync-start), and at the container's exit `runtime delete`
 * (--release-runtime) beside the unmounts of what the container held (--release-mount). The
 * CLI's cleanup then finds those done: it deletes only a runtime record that is still there and
 * unmounts only what is still mounted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

#define VERB_STDERR_MAX 2048
/* Stacked mounts at one target peeled off at most (as pkg/storage/mounts.ts unmountAll). */
#define MAX_STACKED_MOUNTS 16

/* In the child: stdin and stdout /dev/null, stderr the pipe, the default signal mask. */
static void __attribute__ ((noreturn))
exec_verb (const char **argv, int stderr_fd)
{
  int null_fd = open ("/dev/null", O_RDWR);

  if (monitor_child_signals () < 0 || null_fd < 0 || dup2 (null_fd, 0) < 0
      || dup2 (null_fd, 1) < 0 || dup2 (stderr_fd, 2) < 0)
    _exit (127);
  execvp (argv[0], (char **) argv);
  dprintf (2, "cannot execute the OCI runtime %s: %s\n", argv[0], strerror (errno));
  _exit (127);
}

/* `runtime GLOBAL-ARGS... VERB... CID` started; *STDERR_FD the read end of its stderr. */
static int
spawn_verb (const struct monitor_opts *o, const char *const *verb, pid_t *pid, int *stderr_fd,
            struct tspod_error *err)
{
  const char **argv;
  size_t n = 0;
  size_t k;
  int fds[2];

  while (o->runtime_args[n] != NULL)
    n++;
  for (k = 0; verb[k] != NULL; k++)
    ;
  argv = calloc (n + k + 3, sizeof (*argv));
  if (argv == NULL)
    return tspod_fail (err, errno, NULL, "cannot allocate the runtime's arguments");
  n = 0;
  argv[n++] = o->runtime;
  for (k = 0; o->runtime_args[k] != NULL; k++)
    argv[n++] = o->runtime_args[k];
  for (k = 0; verb[k] != NULL; k++)
    argv[n++] = verb[k];
  argv[n++] = o->cid;
  if (pipe2 (fds, O_CLOEXEC) < 0)
    {
      free (argv);
      return tspod_fail (err, errno, NULL, "cannot create a pipe");
    }
  *pid = fork ();
  if (*pid == 0)
    exec_verb (argv, fds[1]);
  free (argv);
  close (fds[1]);
  if (*pid < 0)
    {
      close (fds[0]);
      return tspod_fail (err, errno, NULL, "cannot fork the OCI runtime");
    }
  *stderr_fd = fds[0];
  return 0;
}

/* Reads the runtime's stderr to its end and reaps it. Fails with that stderr (its tail, on one
 * line) when it did not exit 0; *CODE its exit status. */
static int
finish_verb (const struct monitor_opts *o, const char *name, pid_t pid, int stderr_fd, int *code,
             struct tspod_error *err)
{
  char tail[VERB_STDERR_MAX];
  char text[VERB_STDERR_MAX];
  char buf[512];
  size_t len = 0;
  ssize_t n;
  int status;

  while ((n = read (stderr_fd, buf, sizeof (buf))) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      monitor_keep_tail (tail, sizeof (tail), &len, buf, (size_t) n);
    }
  close (stderr_fd);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return tspod_fail (err, errno, NULL, "cannot wait for %s %s", o->runtime, name);
  *code = monitor_exit_code (status);
  if (*code == 0)
    return 0;
  monitor_flatten (tail, len, text, sizeof (text));
  if (text[0] != '\0')
    return tspod_fail (err, 0, NULL, "%s", text);
  return tspod_fail (err, 0, NULL, "%s %s exited with status %d", o->runtime, name, *code);
}

int
monitor_runtime_verb (const struct monitor_opts *o, const char *const *verb, int *code,
                      struct tspod_error *err)
{
  pid_t pid;
  int stderr_fd;

  *code = TSPOD_EXIT_FAILURE;
  if (spawn_verb (o, verb, &pid, &stderr_fd, err) < 0)
    return -1;
  return finish_verb (o, verb[0], pid, stderr_fd, code, err);
}

/* Everything stacked at TARGET; a busy one is detached lazily. Not mounted is no error. */
static void
unmount_all (const struct monitor_opts *o, const char *target)
{
  struct tspod_error err;
  int i;

  for (i = 0; i < MAX_STACKED_MOUNTS; i++)
    {
      if (umount2 (target, UMOUNT_NOFOLLOW) == 0)
        continue;
      if (errno == EBUSY && umount2 (target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        continue;
      if (errno != EINVAL && errno != ENOENT)
        {
          tspod_fail (&err, errno, NULL, "cannot unmount %s", target);
          monitor_report (o, &err);
        }
      return;
    }
}

const char *const monitor_delete_verb[] = { "delete", "--force", NULL };

void
monitor_release (const struct monitor_opts *o)
{
  struct tspod_error err;
  pid_t pid = 0;
  int stderr_fd = -1;
  int code;
  size_t i;

  /* The runtime's record and the mounts do not depend on one another: the unmounts run while
   * the runtime deletes. */
  if (o->release_runtime && spawn_verb (o, monitor_delete_verb, &pid, &stderr_fd, &err) < 0)
    monitor_report (o, &err);
  for (i = 0; o->release_mounts[i] != NULL; i++)
    unmount_all (o, o->release_mounts[i]);
  if (pid > 0 && finish_verb (o, "delete", pid, stderr_fd, &code, &err) < 0)
    monitor_report (o, &err);
}
