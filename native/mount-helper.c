/* tspod-mount-helper: the few syscalls the storage drivers need and Node lacks (mount(2) with
 * a chosen working directory, umount2 with a lazy fallback, setxattr, mknod of whiteouts).
 * pkg/storage/mounts.ts runs it inside tspod's user+mount namespace (or as real root).
 *
 *   mount [-C DIR] [-r] [-n FILE] TYPE SOURCE TARGET DATA
 *                                                 chdir to DIR first: DATA may name lowers
 *                                                 relative to it, which keeps many-layer
 *                                                 overlay option strings under one page; -n
 *                                                 first does `netns FILE` (one exec for a
 *                                                 container's root and its namespace)
 *   bind [-r] SOURCE TARGET
 *   umount TARGET                                 prints "detached" when busy and lazily detached
 *   setxattr PATH NAME VALUE
 *   whiteout PATH... [--opaque DIR...]            0/0 character devices (overlay whiteouts),
 *                                                 and user.overlay.opaque=y on each DIR
 *   probe-overlay DIR DATA                        pkg/storage/driver-probe.ts's test mount in
 *                                                 one process: whiteout, opaque mark, mount
 *                                                 DATA at DIR/merged, check, unmount; exits 3
 *                                                 with the surprise when overlay misbehaves
 *   topdir DIR                                    chattr +T: ext4 spreads DIR's subdirectories
 *                                                 over block groups (see pkg/storage/layer-home.ts)
 *   port-check PROTO HOST PORT...                 for each triple (tcp|udp, an address or "" for
 *                                                 all, a port) prints its index (from 0) when a
 *                                                 bind there fails with EADDRINUSE, as `run`'s
 *                                                 check before it creates anything (a helper
 *                                                 server's child does it without Node's
 *                                                 listen and DNS machinery)
 *   rmtree PATH...                                each PATH and all below it, as rm -rf but
 *                                                 never through a mount (remove-tree.c): a
 *                                                 removed container's directories
 *   netns FILE                                    a new network namespace with lo up, kept by a
 *                                                 bind mount on FILE (created; a stale mount
 *                                                 there is detached first): a container's, made
 *                                                 before `runtime create` so its network helpers
 *                                                 start alongside (pkg/network/early-netns.ts)
 *
 * Every failure prints one line "<what>: <strerror>" on stderr and exits 1. The same verbs run
 * in a child of the launcher's helper server (helper-server.c), without an exec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mount-helper.h"
#include "remove-tree.h"

static int
fail (const char *what, const char *path)
{
  fprintf (stderr, "%s %s: %s\n", what, path, strerror (errno));
  return 1;
}

static int
usage (void)
{
  fputs ("usage: tspod-mount-helper mount|bind|umount|setxattr|whiteout|probe-overlay|topdir|netns|port-check|rmtree ARGS...\n", stderr);
  return 2;
}

/* Leading -C DIR / -n FILE / -r options shared by mount and bind (-C and -n: mount only);
 * returns the index of the first operand. */
static int
parse_flags (int argc, char **argv, int first, const char **dir, const char **netns, unsigned long *flags)
{
  int i = first;

  while (i < argc && argv[i][0] == '-')
    {
      if (strcmp (argv[i], "-r") == 0)
        *flags |= MS_RDONLY;
      else if (strcmp (argv[i], "-C") == 0 && i + 1 < argc && dir != NULL)
        *dir = argv[++i];
      else if (strcmp (argv[i], "-n") == 0 && i + 1 < argc && netns != NULL)
        *netns = argv[++i];
      else
        return -1;
      i++;
    }
  return i;
}

/* Removes a trailing ",volatile" from overlay option DATA; whether there was one. */
static int
strip_volatile (char *data)
{
  static const char opt[] = ",volatile";
  size_t n = strlen (data);

  if (n < sizeof (opt) - 1 || strcmp (data + n - (sizeof (opt) - 1), opt) != 0)
    return 0;
  data[n - (sizeof (opt) - 1)] = '\0';
  return 1;
}

static int make_netns (const char *file);

static int
do_mount (int argc, char **argv)
{
  const char *dir = NULL, *netns = NULL;
  unsigned long flags = 0;
  int i = parse_flags (argc, argv, 2, &dir, &netns, &flags);

  if (i < 0 || argc - i != 4)
    return usage ();
  if (netns != NULL && make_netns (netns) != 0)
    return 1;
  if (dir != NULL && chdir (dir) < 0)
    return fail ("chdir", dir);
  if (mount (argv[i + 1], argv[i + 2], argv[i], flags, argv[i + 3]) == 0)
    return 0;
  /* Overlay's "volatile" (an upper dir that need not survive a crash) is an optimization:
   * kernels before 5.10 refuse the option (EINVAL), so they mount without it. */
  if (errno == EINVAL && strip_volatile (argv[i + 3])
      && mount (argv[i + 1], argv[i + 2], argv[i], flags, argv[i + 3]) == 0)
    return 0;
  return fail ("mount", argv[i + 2]);
}

/* A read-only bind needs a second remount call: MS_RDONLY is ignored on the first. */
static int
do_bind (int argc, char **argv)
{
  unsigned long flags = 0;
  int i = parse_flags (argc, argv, 2, NULL, NULL, &flags);

  if (i < 0 || argc - i != 2)
    return usage ();
  if (mount (argv[i], argv[i + 1], NULL, MS_BIND, NULL) < 0)
    return fail ("bind mount", argv[i + 1]);
  if ((flags & MS_RDONLY)
      && mount (NULL, argv[i + 1], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    return fail ("read-only remount", argv[i + 1]);
  return 0;
}

/* A container's process or a shell may still sit in the tree: detach lazily rather than fail,
 * the kernel finishes the unmount when the last user leaves. */
static int
do_umount (int argc, char **argv)
{
  if (argc != 3)
    return usage ();
  if (umount2 (argv[2], UMOUNT_NOFOLLOW) == 0)
    return 0;
  if (errno != EBUSY)
    return fail ("umount", argv[2]);
  if (umount2 (argv[2], MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
    return fail ("lazy umount", argv[2]);
  puts ("detached");
  return 0;
}

static int
do_setxattr (int argc, char **argv)
{
  if (argc != 5)
    return usage ();
  if (lsetxattr (argv[2], argv[3], argv[4], strlen (argv[4]), 0) < 0)
    return fail ("setxattr", argv[2]);
  return 0;
}

/* One process for all the deletions a layer records (pkg/storage/deferred-whiteouts.ts). */
static int
do_whiteout (int argc, char **argv)
{
  int i, opaque = 0;

  if (argc < 3)
    return usage ();
  for (i = 2; i < argc; i++)
    {
      if (!opaque && strcmp (argv[i], "--opaque") == 0)
        opaque = 1;
      else if (opaque)
        {
          if (lsetxattr (argv[i], "user.overlay.opaque", "y", 1, 0) < 0)
            return fail ("setxattr", argv[i]);
        }
      else if (mknod (argv[i], S_IFCHR | 0, makedev (0, 0)) < 0)
        return fail ("whiteout", argv[i]);
    }
  return 0;
}

/* Whether DIR/REL exists (a whiteout, a 0/0 device, reads as absent through overlay). */
static int
present (const char *dir, const char *rel)
{
  char path[8192];
  struct stat st;

  snprintf (path, sizeof path, "%s/%s", dir, rel);
  return lstat (path, &st) == 0;
}

/* The merged view must show what overlay semantics promise; returns the first surprise. */
static const char *
check_merged (const char *dir)
{
  char merged[4096], upper[4096], written[4096 + 16];
  int fd;

  snprintf (merged, sizeof merged, "%s/merged", dir);
  snprintf (upper, sizeof upper, "%s/upper", dir);
  if (!present (merged, "dir/kept"))
    return "dir/kept is missing from the merged view";
  if (present (merged, "dir/gone"))
    return "dir/gone shows through a whiteout";
  if (!present (merged, "opq/shown"))
    return "opq/shown is missing from the merged view";
  if (present (merged, "opq/hidden"))
    return "opq/hidden shows through an opaque dir";
  snprintf (written, sizeof written, "%s/written", merged);
  fd = open (written, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, "x", 1) != 1)
    return "a write to the merged view failed";
  close (fd);
  if (!present (upper, "written"))
    return "a write did not reach the upper dir";
  return NULL;
}

/* DIR holds lower1 and lower2 (with lower2/dir and lower2/opq), upper, work and merged, laid
 * out by driver-probe.ts; DATA is the overlay option string the driver would mount with. */
static int
do_probe_overlay (int argc, char **argv)
{
  char path[4096], merged[4096], data[8192];
  const char *problem;

  if (argc != 4)
    return usage ();
  if (strlen (argv[2]) > 2048)
    {
      errno = ENAMETOOLONG;
      return fail ("probe", argv[2]);
    }
  snprintf (path, sizeof path, "%s/lower2/dir/gone", argv[2]);
  if (mknod (path, S_IFCHR | 0, makedev (0, 0)) < 0)
    return fail ("whiteout", path);
  snprintf (path, sizeof path, "%s/lower2/opq", argv[2]);
  if (lsetxattr (path, "user.overlay.opaque", "y", 1, 0) < 0)
    return fail ("setxattr", path);
  snprintf (merged, sizeof merged, "%s/merged", argv[2]);
  /* volatile: unmounting an overlay with an upper dir otherwise syncs that dir's whole
   * filesystem, tens of ms on a busy disk for a probe that keeps nothing. Kernels before 5.10
   * do not know the option (EINVAL): mount without it there. */
  snprintf (data, sizeof data, "%s,volatile", argv[3]);
  if (mount ("overlay", merged, "overlay", 0, data) < 0
      && (errno != EINVAL || mount ("overlay", merged, "overlay", 0, argv[3]) < 0))
    return fail ("mount", merged);
  problem = check_merged (argv[2]);
  if (umount2 (merged, UMOUNT_NOFOLLOW) < 0 && umount2 (merged, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
    return fail ("umount", merged);
  if (problem == NULL)
    return 0;
  fprintf (stderr, "kernel overlay misbehaves: %s\n", problem);
  return 3;
}

static int
do_topdir (int argc, char **argv)
{
  int fd, flags, ret = 0;

  if (argc != 3)
    return usage ();
  fd = open (argv[2], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return fail ("open", argv[2]);
  if (ioctl (fd, FS_IOC_GETFLAGS, &flags) < 0)
    ret = fail ("get flags of", argv[2]);
  else if ((flags & FS_TOPDIR_FL) == 0)
    {
      flags |= FS_TOPDIR_FL;
      if (ioctl (fd, FS_IOC_SETFLAGS, &flags) < 0)
        ret = fail ("set flags of", argv[2]);
    }
  close (fd);
  return ret;
}

/* The OCI runtime brings lo up only in a namespace it creates itself, not in one it joins. */
static int
loopback_up (void)
{
  struct ifreq ifr;
  int ret = 0, fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return fail ("socket for", "lo");
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    ret = fail ("flags of", "lo");
  else
    {
      ifr.ifr_flags |= IFF_UP;
      if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
        ret = fail ("bring up", "lo");
    }
  close (fd);
  return ret;
}

static int
make_netns (const char *file)
{
  int fd;

  /* A namespace a crashed start left mounted here goes: nothing else may hold this name. */
  umount2 (file, MNT_DETACH | UMOUNT_NOFOLLOW);
  fd = open (file, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail ("create", file);
  close (fd);
  if (unshare (CLONE_NEWNET) < 0)
    return fail ("new network namespace for", file);
  if (loopback_up () != 0)
    return 1;
  if (mount ("/proc/self/ns/net", file, NULL, MS_BIND, NULL) < 0)
    return fail ("bind mount", file);
  return 0;
}

/* Binds (and for tcp listens) where a published port would: in use is EADDRINUSE only, any
 * other failure is left for the port forwarder to report. */
static int
port_in_use (const char *proto, const char *host, const char *port)
{
  int udp = strcmp (proto, "udp") == 0;
  struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
  struct sockaddr_in a4 = { .sin_family = AF_INET };
  struct sockaddr *addr = (struct sockaddr *) &a6;
  socklen_t len = sizeof (a6);
  int one = 1;
  int zero = 0;
  int in_use;
  int fd;

  a6.sin6_port = a4.sin_port = htons ((uint16_t) atoi (port));
  if (host[0] != '\0' && inet_pton (AF_INET, host, &a4.sin_addr) == 1)
    {
      addr = (struct sockaddr *) &a4;
      len = sizeof (a4);
    }
  else if (host[0] != '\0' && inet_pton (AF_INET6, host, &a6.sin6_addr) != 1)
    return 0;
  fd = socket (addr->sa_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0 && addr->sa_family == AF_INET6 && host[0] == '\0')
    {
      /* No IPv6 here: all addresses are IPv4's. */
      addr = (struct sockaddr *) &a4;
      len = sizeof (a4);
      fd = socket (AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    }
  if (fd < 0)
    return 0;
  if (addr->sa_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof (zero));
  if (! udp)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
  in_use = (bind (fd, addr, len) < 0 || (! udp && listen (fd, 1) < 0)) && errno == EADDRINUSE;
  close (fd);
  return in_use;
}

static int
do_port_check (int argc, char **argv)
{
  int i;

  if ((argc - 2) % 3 != 0)
    return usage ();
  for (i = 2; i + 2 < argc; i += 3)
    if (port_in_use (argv[i], argv[i + 1], argv[i + 2]))
      printf ("%d\n", (i - 2) / 3);
  return 0;
}

static int
do_rmtree (int argc, char **argv)
{
  int i;

  if (argc < 3)
    return usage ();
  for (i = 2; i < argc; i++)
    if (tspod_remove_tree (argv[i]) < 0)
      {
        if (errno != EXDEV)
          return fail ("cannot remove", argv[i]);
        fprintf (stderr, "cannot remove %s: it or something below it is still mounted\n", argv[i]);
        return 1;
      }
  return 0;
}

static int
do_netns (int argc, char **argv)
{
  if (argc != 3)
    return usage ();
  return make_netns (argv[2]);
}

int
tspod_mount_helper (int argc, char **argv)
{
  if (argc < 2)
    return usage ();
  if (strcmp (argv[1], "mount") == 0)
    return do_mount (argc, argv);
  if (strcmp (argv[1], "bind") == 0)
    return do_bind (argc, argv);
  if (strcmp (argv[1], "umount") == 0)
    return do_umount (argc, argv);
  if (strcmp (argv[1], "setxattr") == 0)
    return do_setxattr (argc, argv);
  if (strcmp (argv[1], "whiteout") == 0)
    return do_whiteout (argc, argv);
  if (strcmp (argv[1], "probe-overlay") == 0)
    return do_probe_overlay (argc, argv);
  if (strcmp (argv[1], "topdir") == 0)
    return do_topdir (argc, argv);
  if (strcmp (argv[1], "netns") == 0)
    return do_netns (argc, argv);
  if (strcmp (argv[1], "rmtree") == 0)
    return do_rmtree (argc, argv);
  if (strcmp (argv[1], "port-check") == 0)
    return do_port_check (argc, argv);
  return usage ();
}
