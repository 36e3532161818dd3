/* tspod: the binary users run. Node is multi-threaded and cannot enter a user namespace, so
 * this launcher does it first (join the pause process's namespaces, or create them) and then
 * execs `node --snapshot-blob <pkgroot>/dist/tspod.blob -- ARGS...` (the CLI with every module
 * already loaded, see cmd/tspod/snapshot-entry.ts; smaller ones for the commands in
 * LISTING_COMMANDS, RUN_COMMANDS and DAILY_COMMANDS), or
 * `node <pkgroot>/dist/cmd/tspod/main.js ARGS...` when there is no snapshot for this node binary
 * or TSPOD_NO_SNAPSHOT=1.
 *
 * What the CLI gets in its environment:
 *   _TSPOD_ROOTLESS      0 for root (no namespace), 1 otherwise
 *   _TSPOD_HOST_UID/GID  the user's uid/gid on the host (rootless only)
 *   _TSPOD_RUNTIME_DIR   the resolved runtime dir; tspod's files are in its tspod/ subdir
 *   _TSPOD_USERNS        subid (the /etc/subuid ranges are mapped) or single (own id only)
 *   _TSPOD_PAUSE_PID     the pause process holding the namespace (not with _TSPOD_NO_USERNS=1)
 *   _TSPOD_IN_USERNS     1 once inside: a nested tspod execs node without joining again
 *   _TSPOD_GLIBC_TUNABLES the user's GLIBC_TUNABLES ("=VALUE", "" if unset), for the CLI to put
 *                        back: node itself runs with malloc on huge pages (prefer_huge_pages)
 *   _TSPOD_STDIO         the file status flags of fds 0-2 as node got them ("F0,F1,F2"; "t" for a
 *                        terminal, "-" for a closed fd), which a fast exit puts back
 *                        (record_stdio, cmd/tspod/exit-teardown.ts)
 * Inputs: TSPOD_NODE (node to run), _TSPOD_NO_USERNS=1 (stay outside any namespace),
 * XDG_RUNTIME_DIR, TMPDIR, PATH (node, newuidmap, newgidmap). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "helper-server.h"
#include "idmap.h"
#include "path.h"
#include "rundir.h"
#include "pause.h"
#include "userns.h"

#ifndef TSPOD_NODE
#  define TSPOD_NODE "node"
#endif

extern char **environ;

struct launch
{
  char cli[PATH_MAX];  /* <pkgroot>/dist/cmd/tspod/main.js */
  char dist[PATH_MAX]; /* <pkgroot>/dist */
  char blob[PATH_MAX]; /* the snapshot node starts from, or "" for main.js */
  char node[PATH_MAX];
};

/* The binary lives at <pkgroot>/native/build/tspod, the CLI at <pkgroot>/dist/cmd/tspod. */
static int
locate_cli (struct launch *l, struct tspod_error *err)
{
  char exe[PATH_MAX];
  ssize_t len;
  int i;

  /* The kernel gives the binary's canonical path: symlinks (a bin/tspod link) are resolved. */
  len = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
  if (len < 0)
    return tspod_fail (err, errno, "is /proc mounted?", "cannot read /proc/self/exe");
  exe[len] = '\0';
  for (i = 0; i < 3; i++)
    {
      char *slash = strrchr (exe, '/');
      if (slash == NULL || slash == exe)
        return tspod_fail (err, 0, "keep the launcher at <package>/native/build/tspod",
                           "cannot find the tspod package around %s", exe);
      *slash = '\0';
    }
  if (tspod_path_format (err, l->cli, sizeof (l->cli), "%s/dist/cmd/tspod/main.js", exe) < 0
      || tspod_path_format (err, l->dist, sizeof (l->dist), "%s/dist", exe) < 0)
    return -1;
  if (access (l->cli, R_OK) < 0)
    return tspod_fail (err, errno, "build it with \"npm run build\"", "cannot read the tspod CLI %s",
                       l->cli);
  return 0;
}

/* $TSPOD_NODE, else the node recorded at build time, else node on $PATH. */
static int
locate_node (struct launch *l, struct tspod_error *err)
{
  static const char hint[] = "install Node.js 20 or set TSPOD_NODE to the node binary";
  const char *wanted = getenv ("TSPOD_NODE");

  if (wanted != NULL && wanted[0] != '\0')
    {
      if (strchr (wanted, '/') != NULL)
        return tspod_path_format (err, l->node, sizeof (l->node), "%s", wanted);
      if (tspod_path_lookup (getenv ("PATH"), wanted, l->node, sizeof (l->node)) == 0)
        return 0;
      return tspod_fail (err, ENOENT, hint, "cannot find TSPOD_NODE=%s on PATH", wanted);
    }
  if (strchr (TSPOD_NODE, '/') != NULL && tspod_path_is_executable (TSPOD_NODE))
    return tspod_path_format (err, l->node, sizeof (l->node), "%s", TSPOD_NODE);
  if (tspod_path_lookup (getenv ("PATH"), "node", l->node, sizeof (l->node)) == 0)
    return 0;
  return tspod_fail (err, ENOENT, hint, "cannot find node (built for %s, not on PATH either)",
                     TSPOD_NODE);
}

/* V8 flags the snapshot is built with and must be loaded with (native/build-snapshot.js's
 * NODE_FLAGS, where the reason for each is given). */
#define SNAPSHOT_FLAG "--no-rehash-snapshot"

/* The command words that start from a smaller snapshot than dist/tspod.blob, whose bundle holds
 * only their command modules (native/build-snapshot.js's SNAPSHOTS says what each holds and what
 * it saves). The first argument must be the word itself: after a global flag (whose value could
 * be anything) dist/tspod.blob serves, which runs every command. */
static const char *const LISTING_COMMANDS[] = { "images", "version", NULL };
static const char *const RUN_COMMANDS[] = { "create", "run", "start", NULL };
static const char *const DAILY_COMMANDS[]
    = { "container", "create", "exec", "inspect", "logs", "ps", "pull", "rm", "rmi", "run", "start", "stop", "tag", NULL };

/* The command words that get the helper server (helper-server.c): those that mount a container's
 * root on their way (run, start, restart, container run/start/cleanup) or record many whiteouts
 * (pull, build). */
static const char *const HELPER_SERVER_COMMANDS[]
    = { "build", "container", "pull", "restart", "run", "start", NULL };

static int
first_word_in (int argc, char **argv, const char *const *words)
{
  if (argc < 2)
    return 0;
  for (; *words != NULL; words++)
    if (strcmp (argv[1], *words) == 0)
      return 1;
  return 0;
}

/* A snapshot loads only in the node binary that built it, given the same V8 flags:
 * native/build-snapshot.js records that binary's "SIZE MTIME" and the flags beside each blob.
 * Sets l->blob to dist/NAME when NAME can be used. */
static int
use_snapshot (struct launch *l, const struct stat *node, const char *name)
{
  struct tspod_error ignored;
  char stamp_path[PATH_MAX + 8];
  char stamp[64];
  char expected[64];

  if (snprintf (l->blob, sizeof (l->blob), "%s/%s", l->dist, name) >= (int) sizeof (l->blob)
      || snprintf (stamp_path, sizeof (stamp_path), "%s.node", l->blob) >= (int) sizeof (stamp_path)
      || tspod_read_small_at (AT_FDCWD, stamp_path, stamp, sizeof (stamp), &ignored) < 0
      || access (l->blob, R_OK) < 0)
    {
      l->blob[0] = '\0';
      return 0;
    }
  snprintf (expected, sizeof (expected), "%lld %lld %s\n", (long long) node->st_size,
            (long long) node->st_mtim.tv_sec, SNAPSHOT_FLAG);
  if (strcmp (stamp, expected) != 0)
    {
      l->blob[0] = '\0';
      return 0;
    }
  return 1;
}

/* The smaller blob made for the command word, else the complete one, else main.js (l->blob ""):
 * anything unexpected means the next choice, never an error. */
static void
choose_snapshot (struct launch *l, int argc, char **argv)
{
  const char *off = getenv ("TSPOD_NO_SNAPSHOT");
  struct stat node;

  l->blob[0] = '\0';
  if ((off != NULL && strcmp (off, "1") == 0) || stat (l->node, &node) < 0)
    return;
  if (first_word_in (argc, argv, LISTING_COMMANDS) && use_snapshot (l, &node, "tspod-listing.blob"))
    return;
  if (first_word_in (argc, argv, RUN_COMMANDS) && use_snapshot (l, &node, "tspod-run.blob"))
    return;
  if (first_word_in (argc, argv, DAILY_COMMANDS) && use_snapshot (l, &node, "tspod-daily.blob"))
    return;
  use_snapshot (l, &node, "tspod.blob");
}

static int
set_env (const char *name, const char *value, struct tspod_error *err)
{
  if (setenv (name, value, 1) < 0)
    return tspod_fail (err, errno, NULL, "cannot set %s", name);
  return 0;
}

static int
set_env_number (const char *name, unsigned long value, struct tspod_error *err)
{
  char text[32];

  snprintf (text, sizeof (text), "%lu", value);
  return set_env (name, text, err);
}

static int
unset_env (const char *name, struct tspod_error *err)
{
  if (unsetenv (name) < 0)
    return tspod_fail (err, errno, NULL, "cannot unset %s", name);
  return 0;
}

/* Node reads the start-up snapshot (~7 MB) into malloc'd memory and copies it once more before
 * V8 deserializes it: with malloc on transparent huge pages (where the kernel grants them on
 * request) those buffers take a few faults instead of ~2000, 2-3 ms of every command. The CLI
 * puts the user's own GLIBC_TUNABLES back before it starts any program (launcher-env.ts). An
 * explicit hugetlb choice of the user's is left alone; any failure here only costs the speed-up. */
static void
prefer_huge_pages (void)
{
  static const char tunable[] = "glibc.malloc.hugetlb=1";
  struct tspod_error ignored;
  const char *user = getenv ("GLIBC_TUNABLES");
  size_t len;
  char *saved, *value;

  if (user == NULL)
    {
      if (set_env ("_TSPOD_GLIBC_TUNABLES", "", &ignored) == 0)
        set_env ("GLIBC_TUNABLES", tunable, &ignored);
      return;
    }
  if (strstr (user, "glibc.malloc.hugetlb") != NULL)
    return;
  len = strlen (user);
  saved = malloc (len + 2);
  value = malloc (len + sizeof (tunable) + 1);
  if (saved != NULL && value != NULL)
    {
      snprintf (saved, len + 2, "=%s", user);
      snprintf (value, len + sizeof (tunable) + 1, "%s:%s", user, tunable);
      if (set_env ("_TSPOD_GLIBC_TUNABLES", saved, &ignored) == 0)
        set_env ("GLIBC_TUNABLES", value, &ignored);
    }
  free (saved);
  free (value);
}

/* Node puts the O_NONBLOCK it may have set on fds 0-2 back as its exit's last step, from what
 * it saw at its start; the CLI's fast exit skips that exit and does it from this record. */
static void
record_stdio (void)
{
  struct tspod_error ignored;
  char text[64];
  size_t used = 0;
  int fd;

  for (fd = 0; fd < 3; fd++)
    {
      int flags = fcntl (fd, F_GETFL);
      const char *sep = fd == 0 ? "" : ",";
      if (flags < 0)
        used += (size_t) snprintf (text + used, sizeof (text) - used, "%s-", sep);
      else if (isatty (fd))
        used += (size_t) snprintf (text + used, sizeof (text) - used, "%st", sep);
      else
        used += (size_t) snprintf (text + used, sizeof (text) - used, "%s%d", sep, flags);
    }
  set_env ("_TSPOD_STDIO", text, &ignored);
}

static void __attribute__ ((noreturn))
exec_node (const struct launch *l, int argc, char **argv)
{
  struct tspod_error err;
  char **node_argv;
  int i;

  int n = 0;

  /* In the namespaces node will run in; failing only costs node the speed-up. */
  if (first_word_in (argc, argv, HELPER_SERVER_COMMANDS))
    tspod_helper_server_start ();

  record_stdio ();
  node_argv = calloc ((size_t) argc + 5, sizeof (char *));
  if (node_argv == NULL)
    {
      tspod_fail (&err, errno, NULL, "cannot allocate the node command line");
      tspod_error_exit (&err);
    }
  node_argv[n++] = (char *) "node";
  if (l->blob[0] != '\0')
    {
      prefer_huge_pages ();
      node_argv[n++] = (char *) "--snapshot-blob";
      node_argv[n++] = (char *) l->blob;
      node_argv[n++] = (char *) SNAPSHOT_FLAG;
      node_argv[n++] = (char *) "--";
    }
  else
    node_argv[n++] = (char *) l->cli;
  for (i = 1; i < argc; i++)
    node_argv[n++] = argv[i];
  node_argv[n] = NULL;
  execve (l->node, node_argv, environ);
  tspod_fail (&err, errno, "install Node.js 20 or set TSPOD_NODE to the node binary",
              "cannot execute %s", l->node);
  tspod_error_exit (&err);
}

/* A nested call (tspod unshare tspod info, a container's exit hook) is already root in the
 * namespace: setns into the namespace we are in would fail with EINVAL. */
static int
already_in_userns (void)
{
  struct tspod_error ignored;
  const char *flag = getenv ("_TSPOD_IN_USERNS");
  char uid_map[4096];

  if (flag == NULL || strcmp (flag, "1") != 0 || getuid () != 0)
    return 0;
  if (tspod_read_small_at (AT_FDCWD, "/proc/self/uid_map", uid_map, sizeof (uid_map), &ignored)
      < 0)
    return 0;
  return ! tspod_idmap_is_identity (uid_map);
}

static int
prepare_root (struct tspod_error *err)
{
  static const char *const stale[] = { "_TSPOD_IN_USERNS", "_TSPOD_PAUSE_PID", "_TSPOD_USERNS",
                                       "_TSPOD_HOST_UID", "_TSPOD_HOST_GID", "_TSPOD_RUNTIME_DIR" };
  size_t i;

  for (i = 0; i < sizeof (stale) / sizeof (stale[0]); i++)
    if (unset_env (stale[i], err) < 0)
      return -1;
  return set_env ("_TSPOD_ROOTLESS", "0", err);
}

static int
prepare_rootless (uid_t uid, gid_t gid, struct tspod_error *err)
{
  static struct tspod_rundir rundir;
  struct tspod_userns ns;
  const char *no_userns = getenv ("_TSPOD_NO_USERNS");

  if (tspod_rundir_resolve (uid, &rundir, err) < 0)
    return -1;
  if (set_env ("_TSPOD_ROOTLESS", "1", err) < 0 || set_env_number ("_TSPOD_HOST_UID", uid, err) < 0
      || set_env_number ("_TSPOD_HOST_GID", gid, err) < 0
      || set_env ("_TSPOD_RUNTIME_DIR", rundir.path, err) < 0)
    return -1;

  if (no_userns != NULL && strcmp (no_userns, "1") == 0)
    {
      static struct tspod_idmap_plan plan;

      if (tspod_idmap_plan (uid, gid, &plan, err) < 0)
        return -1;
      if (set_env ("_TSPOD_USERNS", plan.subid ? "subid" : "single", err) < 0)
        return -1;
      if (unset_env ("_TSPOD_PAUSE_PID", err) < 0 || unset_env ("_TSPOD_IN_USERNS", err) < 0)
        return -1;
      return 0;
    }

  if (tspod_userns_enter (&rundir, uid, gid, &ns, err) < 0)
    return -1;
  if (set_env ("_TSPOD_USERNS", ns.single ? "single" : "subid", err) < 0
      || set_env_number ("_TSPOD_PAUSE_PID", (unsigned long) ns.pause_pid, err) < 0
      || set_env ("_TSPOD_IN_USERNS", "1", err) < 0)
    return -1;
  return 0;
}

int
main (int argc, char **argv)
{
  static struct launch l;
  struct tspod_error err;
  uid_t uid = getuid ();
  gid_t gid = getgid ();

  if (tspod_pause_requested (argc, argv))
    tspod_pause_idle (atoi (argv[2]));
  if (locate_cli (&l, &err) < 0 || locate_node (&l, &err) < 0)
    tspod_error_exit (&err);
  choose_snapshot (&l, argc, argv);
  if (already_in_userns ())
    exec_node (&l, argc, argv);
  if (uid == 0)
    {
      if (prepare_root (&err) < 0)
        tspod_error_exit (&err);
    }
  else if (prepare_rootless (uid, gid, &err) < 0)
    tspod_error_exit (&err);
  exec_node (&l, argc, argv);
}
