#include "pause.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

static void
report (int sync_fd, int errnum, const char *step)
{
  struct tspod_pause_report msg;

  memset (&msg, 0, sizeof (msg));
  msg.errnum = errnum;
  msg.pid = getpid ();
  snprintf (msg.step, sizeof (msg.step), "%s", step);
  /* Nothing to do if the creator is gone: it reports the missing answer itself. */
  if (send (sync_fd, &msg, sizeof (msg), MSG_NOSIGNAL) != (ssize_t) sizeof (msg))
    _exit (1);
}

static void __attribute__ ((noreturn))
fail (int sync_fd, const char *step)
{
  report (sync_fd, errno != 0 ? errno : EIO, step);
  _exit (1);
}

/* The pause process must not pin the caller's terminal, pipes, lock or working directory. */
static int
close_fds_except (int keep)
{
  long max;
  long fd;

  if ((keep == 0 || close_range (0, (unsigned) keep - 1, 0) == 0)
      && close_range ((unsigned) keep + 1, ~0U, 0) == 0)
    return 0;
  if (errno != ENOSYS)
    return -1;
  /* Kernels before 5.9 have no close_range(2). */
  max = sysconf (_SC_OPEN_MAX);
  if (max < 0)
    max = 1024;
  for (fd = 0; fd < max; fd++)
    if (fd != keep)
      close ((int) fd);
  return 0;
}

/* A hybrid host (cgroup v1 controllers, plus cgroup2 at /sys/fs/cgroup/unified holding some
 * controller) makes crun refuse every container. Rootless, tspod's runtimes cannot use either
 * hierarchy anyway, so in this namespace an empty read-only tmpfs covers the cgroup2 mount:
 * crun then sees a plain v1 host and runs, for `--runtime crun` (runc stays the default on
 * v1: runtime-probe.ts says why).
 * Best effort: where the mount fails, `--runtime crun` fails as it did. */
static void
hide_hybrid_cgroup2 (void)
{
  struct statfs root;
  struct statfs unified;

  if (statfs ("/sys/fs/cgroup", &root) < 0 || root.f_type != TMPFS_MAGIC
      || statfs ("/sys/fs/cgroup/unified", &unified) < 0 || unified.f_type != CGROUP2_SUPER_MAGIC)
    return;
  mount ("tspod-no-cgroup2", "/sys/fs/cgroup/unified", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
         "size=4k,mode=0555");
}

static int
wait_for_maps (int sync_fd)
{
  char go;
  ssize_t n;

  do
    n = recv (sync_fd, &go, 1, 0);
  while (n < 0 && errno == EINTR);
  return n == 1 && go == '1' ? 0 : -1;
}

void
tspod_pause_main (int sync_fd)
{
  static const int ignored[] = { SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU,
                                 SIGUSR1, SIGUSR2 };
  sigset_t all;
  size_t i;

  errno = 0;
  if (close_fds_except (sync_fd) < 0)
    fail (sync_fd, "close_range");
  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    fail (sync_fd, "unshare");
  report (sync_fd, 0, "unshare");
  /* The creator writes our uid_map/gid_map now; if it gives up, it closes the socket. */
  if (wait_for_maps (sync_fd) < 0)
    _exit (1);

  /* Slave rather than private: mounts made in here (container rootfs) still never leak to the
   * host, but host mounts made later (a USB disk, an NFS home, a new /run/user tmpfs) keep
   * appearing inside, so bind-mounting them into a container works without "system migrate". */
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    fail (sync_fd, "mount --make-rslave /");
  hide_hybrid_cgroup2 ();
  if (setsid () < 0)
    fail (sync_fd, "setsid");
  if (prctl (PR_SET_NAME, (unsigned long) TSPOD_PAUSE_COMM, 0, 0, 0) < 0)
    fail (sync_fd, "prctl(PR_SET_NAME)");
  if (chdir ("/") < 0)
    fail (sync_fd, "chdir /");
  for (i = 0; i < sizeof (ignored) / sizeof (ignored[0]); i++)
    if (signal (ignored[i], SIG_IGN) == SIG_ERR)
      fail (sync_fd, "signal");
  /* SIGTERM and SIGKILL keep their default action: that is how "system migrate" ends us. */
  if (signal (SIGTERM, SIG_DFL) == SIG_ERR)
    fail (sync_fd, "signal");
  if (sigemptyset (&all) < 0 || sigprocmask (SIG_SETMASK, &all, NULL) < 0)
    fail (sync_fd, "sigprocmask");

  /* A fork of the launcher still shows the command that created it ("tspod run -d ..."): a
   * fresh image of the launcher sheds that argv and the launcher's memory. The namespaces, the
   * session, the directory and the ignored signals stay across exec; the new image reports
   * "ready" itself, so the creator never sees it in between (named after the file). */
  {
    char fd_arg[16];
    snprintf (fd_arg, sizeof (fd_arg), "%d", sync_fd);
    if (fcntl (sync_fd, F_SETFD, 0) == 0)
      execl ("/proc/self/exe", TSPOD_PAUSE_COMM, TSPOD_PAUSE_IDLE_ARG, fd_arg, (char *) NULL);
  }
  tspod_pause_idle (sync_fd);
}

int
tspod_pause_requested (int argc, char **argv)
{
  return argc == 3 && strcmp (argv[0], TSPOD_PAUSE_COMM) == 0
         && strcmp (argv[1], TSPOD_PAUSE_IDLE_ARG) == 0;
}

void
tspod_pause_idle (int sync_fd)
{
  /* exec named us after the file (/proc/self/exe): the name tspod looks for comes back first. */
  if (prctl (PR_SET_NAME, (unsigned long) TSPOD_PAUSE_COMM, 0, 0, 0) < 0)
    fail (sync_fd, "prctl(PR_SET_NAME)");
  report (sync_fd, 0, "ready");
  close (sync_fd);
  for (;;)
    pause ();
}
