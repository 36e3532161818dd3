/* The container's end: its exit code as Docker reports it, the exit file the CLI reads, and
 * the exit command (`tspod container cleanup ID`: --rm, restart policies). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "monitor.h"
#include "path.h"

int
monitor_exit_code (int wait_status)
{
  if (WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  if (WIFSIGNALED (wait_status))
    return 128 + WTERMSIG (wait_status);
  return 255;
}

int
monitor_write_exit_file (const struct monitor_opts *o, int code, struct tspod_error *err)
{
  char path[PATH_MAX];
  char text[16];

  if (tspod_path_format (err, path, sizeof (path), "%s/%s", o->exit_dir,
                         o->exec ? o->exec_id : o->cid) < 0)
    return -1;
  snprintf (text, sizeof (text), "%d", code);
  return tspod_write_atomic (path, text, err);
}

/* In the child: a session of its own, stdio on /dev/null, the default signal mask. */
static void __attribute__ ((noreturn))
exec_detached (const char *program, const char **args)
{
  const char **argv;
  size_t n = 0;
  size_t i;
  int fd;

  while (args[n] != NULL)
    n++;
  argv = calloc (n + 2, sizeof (*argv));
  if (argv == NULL)
    _exit (127);
  argv[0] = program;
  for (i = 0; i < n; i++)
    argv[i + 1] = args[i];
  if (monitor_child_signals () < 0 || setsid () < 0)
    _exit (127);
  fd = open ("/dev/null", O_RDWR);
  if (fd < 0 || dup2 (fd, 0) < 0 || dup2 (fd, 1) < 0 || dup2 (fd, 2) < 0)
    _exit (127);
  execvp (argv[0], (char **) argv);
  _exit (127);
}

int
monitor_spawn (const char *program, const char **args, pid_t *pid, struct tspod_error *err)
{
  if (strchr (program, '/') != NULL && access (program, X_OK) < 0)
    return tspod_fail (err, errno, NULL, "cannot run %s", program);
  *pid = fork ();
  if (*pid < 0)
    return tspod_fail (err, errno, NULL, "cannot fork %s", program);
  if (*pid == 0)
    exec_detached (program, args);
  return 0;
}

/* Not waited for: the monitor exits right after, and init (or the caller's subreaper) reaps
 * it. A cleanup command may well take longer than a monitor should stay around. */
int
monitor_run_exit_command (const struct monitor_opts *o, struct tspod_error *err)
{
  pid_t pid;

  if (o->exit_command == NULL)
    return 0;
  return monitor_spawn (o->exit_command, o->exit_command_args, &pid, err);
}
