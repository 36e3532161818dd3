#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "idmap.h"
#include "path.h"
#include "pause.h"

#define JOINED 1
#define NOT_RUNNING 0
#define PID_FOUND 1

static const char migrate_hint[] = "run \"tspod system migrate\" to start a fresh namespace";

/* The pid file only says which pid to try: the process must still be ours and be a pause
 * process (pids are reused after a reboot or a kill -9), and a zombie has no namespaces. */
static int
is_our_pause (int procfd, uid_t uid)
{
  struct tspod_error ignored;
  struct stat st;
  char stat_text[512];
  const char *open_paren;
  const char *close_paren;
  size_t comm_len;

  if (fstat (procfd, &st) < 0 || st.st_uid != uid)
    return 0;
  if (tspod_read_small_at (procfd, "stat", stat_text, sizeof (stat_text), &ignored) < 0)
    return 0;
  /* "PID (COMM) STATE ...": COMM is ours, so it holds no ')'. */
  open_paren = strchr (stat_text, '(');
  close_paren = strrchr (stat_text, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
    return 0;
  comm_len = (size_t) (close_paren - open_paren - 1);
  if (comm_len != strlen (TSPOD_PAUSE_COMM)
      || memcmp (open_paren + 1, TSPOD_PAUSE_COMM, comm_len) != 0)
    return 0;
  return close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

static int
read_pid_file (const char *path, pid_t *pid, struct tspod_error *err)
{
  char text[32];
  char *end;
  long value;

  if (tspod_read_small_at (AT_FDCWD, path, text, sizeof (text), err) < 0)
    return err->errnum == ENOENT ? NOT_RUNNING : -1;
  errno = 0;
  value = strtol (text, &end, 10);
  if (errno != 0 || end == text || value <= 0 || value > INT_MAX)
    return NOT_RUNNING;
  *pid = (pid_t) value;
  return PID_FOUND;
}

/* setns(CLONE_NEWNS) moves us to the namespace's root; go back to where the user was. */
static int
restore_cwd (const char *cwd, int cwdfd, struct tspod_error *err)
{
  if (cwd != NULL && chdir (cwd) == 0)
    return 0;
  if (cwdfd >= 0 && fchdir (cwdfd) == 0)
    return 0;
  return tspod_fail (err, errno, "run tspod from a directory that still exists",
                     "cannot return to the working directory %s", cwd != NULL ? cwd : "");
}

static int
enter_namespaces (pid_t pid, int userfd, int mntfd, struct tspod_error *err)
{
  char cwdbuf[PATH_MAX];
  const char *cwd = getcwd (cwdbuf, sizeof (cwdbuf));
  int cwdfd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int ret = -1;

  if (setns (userfd, CLONE_NEWUSER) < 0)
    tspod_fail (err, errno, migrate_hint, "cannot join the user namespace of pause process %d",
                (int) pid);
  else if (setns (mntfd, CLONE_NEWNS) < 0)
    tspod_fail (err, errno, migrate_hint, "cannot join the mount namespace of pause process %d",
                (int) pid);
  else if (setresgid (0, 0, 0) < 0)
    tspod_fail (err, errno, migrate_hint, "cannot become gid 0 in the user namespace");
  else if (setresuid (0, 0, 0) < 0)
    tspod_fail (err, errno, migrate_hint, "cannot become uid 0 in the user namespace");
  else
    ret = restore_cwd (cwd, cwdfd, err);
  if (cwdfd >= 0)
    close (cwdfd);
  return ret;
}

/* Returns JOINED, NOT_RUNNING when there is no live pause process to join, or -1. */
static int
try_join (const char *pid_file, uid_t uid, struct tspod_userns *out, struct tspod_error *err)
{
  char proc_path[64];
  char uid_map[4096];
  int procfd;
  int userfd = -1;
  int mntfd = -1;
  int ret;
  pid_t pid;

  ret = read_pid_file (pid_file, &pid, err);
  if (ret != PID_FOUND)
    return ret;
  ret = NOT_RUNNING;
  /* Everything is read through one /proc/PID handle: if the pid dies and is reused meanwhile,
   * the reads fail with ESRCH instead of describing another process. */
  snprintf (proc_path, sizeof (proc_path), "/proc/%d", (int) pid);
  procfd = open (proc_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procfd < 0)
    return NOT_RUNNING;
  if (! is_our_pause (procfd, uid))
    goto out;
  userfd = openat (procfd, "ns/user", O_RDONLY | O_CLOEXEC);
  if (userfd >= 0)
    mntfd = openat (procfd, "ns/mnt", O_RDONLY | O_CLOEXEC);
  if (userfd < 0 || mntfd < 0)
    {
      if (errno != ENOENT && errno != ESRCH && errno != EINVAL)
        ret = tspod_fail (err, errno, migrate_hint, "cannot open the namespaces of pause process %d",
                          (int) pid);
      goto out;
    }
  if (tspod_read_small_at (procfd, "uid_map", uid_map, sizeof (uid_map), err) < 0)
    {
      ret = err->errnum == ESRCH || err->errnum == ENOENT ? NOT_RUNNING : -1;
      goto out;
    }
  if (enter_namespaces (pid, userfd, mntfd, err) < 0)
    {
      ret = -1;
      goto out;
    }
  out->pause_pid = pid;
  out->single = tspod_idmap_count (uid_map) <= 1;
  ret = JOINED;
out:
  if (mntfd >= 0)
    close (mntfd);
  if (userfd >= 0)
    close (userfd);
  close (procfd);
  return ret;
}

static int
receive_report (int sock, struct tspod_pause_report *msg)
{
  ssize_t n;

  do
    n = recv (sock, msg, sizeof (*msg), MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t) sizeof (*msg) ? 0 : -1;
}

static int
creation_failed (const struct tspod_pause_report *msg, struct tspod_error *err)
{
  if (strcmp (msg->step, "unshare") == 0)
    return tspod_fail (err, msg->errnum,
                       "check that unprivileged user namespaces are enabled (sysctl "
                       "user.max_user_namespaces, kernel.unprivileged_userns_clone)",
                       "cannot create a user namespace");
  return tspod_fail (err, msg->errnum, NULL, "cannot set up the pause process: %s", msg->step);
}

/* Forks twice so that the pause process is reparented to init (or the session's subreaper)
 * at once: it must outlive this call and never be a child of the node process we become. */
static pid_t
spawn_pause (int *sock, struct tspod_error *err)
{
  int sv[2];
  pid_t middle;
  int status;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return tspod_fail (err, errno, NULL, "cannot create a socket pair");
  middle = fork ();
  if (middle < 0)
    {
      int saved = errno;
      close (sv[0]);
      close (sv[1]);
      return tspod_fail (err, saved, NULL, "cannot fork the pause process");
    }
  if (middle == 0)
    {
      pid_t pause_pid;

      close (sv[0]);
      pause_pid = fork ();
      if (pause_pid == 0)
        tspod_pause_main (sv[1]);
      if (pause_pid < 0)
        {
          struct tspod_pause_report msg;

          memset (&msg, 0, sizeof (msg));
          msg.errnum = errno;
          snprintf (msg.step, sizeof (msg.step), "fork");
          if (send (sv[1], &msg, sizeof (msg), MSG_NOSIGNAL) < 0)
            _exit (1);
          _exit (1);
        }
      _exit (0);
    }
  close (sv[1]);
  while (waitpid (middle, &status, 0) < 0)
    if (errno != EINTR)
      {
        int saved = errno;
        close (sv[0]);
        return tspod_fail (err, saved, NULL, "cannot wait for the pause process to start");
      }
  *sock = sv[0];
  return 0;
}

static int
create_pause (const struct tspod_rundir *rundir, uid_t uid, gid_t gid, const char *pid_file,
              struct tspod_userns *out, struct tspod_error *err)
{
  static struct tspod_idmap_plan plan;
  struct tspod_pause_report msg;
  char pid_text[32];
  pid_t pause_pid = -1;
  int sock = -1;
  int ret;

  if (tspod_idmap_plan (uid, gid, &plan, err) < 0)
    return -1;
  /* A caller that ignores SIGCHLD would have our children reaped before we can wait for them. */
  if (signal (SIGCHLD, SIG_DFL) == SIG_ERR)
    return tspod_fail (err, errno, NULL, "cannot reset SIGCHLD");
  if (spawn_pause (&sock, err) < 0)
    return -1;
  if (receive_report (sock, &msg) < 0)
    {
      tspod_fail (err, 0, NULL, "the pause process exited before creating the user namespace");
      goto fail;
    }
  pause_pid = msg.pid;
  if (msg.errnum != 0)
    {
      creation_failed (&msg, err);
      goto fail;
    }
  if (tspod_idmap_apply (&plan, pause_pid, err) < 0)
    goto fail;
  if (send (sock, "1", 1, MSG_NOSIGNAL) != 1)
    {
      tspod_fail (err, errno, NULL, "cannot signal the pause process");
      goto fail;
    }
  if (receive_report (sock, &msg) < 0)
    {
      tspod_fail (err, 0, NULL, "the pause process exited while it was being set up");
      goto fail;
    }
  if (msg.errnum != 0)
    {
      creation_failed (&msg, err);
      goto fail;
    }
  close (sock);
  sock = -1;

  snprintf (pid_text, sizeof (pid_text), "%d\n", (int) pause_pid);
  if (tspod_write_atomic (pid_file, pid_text, err) < 0)
    goto fail;

  if (rundir->warning[0] != '\0')
    tspod_warn ("%s", rundir->warning);
  if (! plan.subid)
    tspod_warn ("no subordinate uid/gid range for user \"%s\" in /etc/subuid or /etc/subgid (or "
                "newuidmap is missing): using a single-id user namespace; images with files owned "
                "by other users will fail to unpack. Add a range (usermod --add-subuids "
                "100000-165535 --add-subgids 100000-165535 %s) and run \"tspod system migrate\".",
                plan.user, plan.user);

  ret = try_join (pid_file, uid, out, err);
  if (ret == NOT_RUNNING)
    return tspod_fail (err, 0, NULL, "the new pause process %d exited before tspod could join it",
                       (int) pause_pid);
  if (ret < 0)
    return -1;
  out->created = 1;
  return 0;

fail:
  if (sock >= 0)
    close (sock);
  /* A half-made namespace is useless; the pause process would also exit on its own on EOF. */
  if (pause_pid > 0)
    kill (pause_pid, SIGKILL);
  return -1;
}

static int
lock_state (const char *lock_file, struct tspod_error *err)
{
  int fd;

  fd = open (lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return tspod_fail (err, errno, "check the permissions of the runtime directory",
                       "cannot open %s", lock_file);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int saved = errno;
        close (fd);
        return tspod_fail (err, saved, NULL, "cannot lock %s", lock_file);
      }
  return fd;
}

int
tspod_userns_enter (const struct tspod_rundir *rundir, uid_t uid, gid_t gid,
                    struct tspod_userns *out, struct tspod_error *err)
{
  char pid_file[PATH_MAX];
  char lock_file[PATH_MAX];
  int lockfd;
  int ret;

  out->pause_pid = 0;
  out->single = 0;
  out->created = 0;
  if (tspod_path_format (err, pid_file, sizeof (pid_file), "%s/pause.pid", rundir->state) < 0)
    return -1;
  /* The common case: no lock, no fork, a few reads of /proc and two setns calls. */
  ret = try_join (pid_file, uid, out, err);
  if (ret != NOT_RUNNING)
    return ret == JOINED ? 0 : -1;

  if (tspod_path_format (err, lock_file, sizeof (lock_file), "%s/pause.lock", rundir->state) < 0)
    return -1;
  lockfd = lock_state (lock_file, err);
  if (lockfd < 0)
    return -1;
  /* Someone may have created it while we waited for the lock. */
  ret = try_join (pid_file, uid, out, err);
  if (ret == NOT_RUNNING)
    ret = create_pause (rundir, uid, gid, pid_file, out, err) < 0 ? -1 : JOINED;
  close (lockfd);
  return ret == JOINED ? 0 : -1;
}
