#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "path.h"

/* newuidmap's argv: path, pid, then (inside, outside, count) for our own id and each range. */
#define HELPER_ARGS (2 + 3 * (1 + TSPOD_MAX_RANGES) + 1)
#define ARG_LEN 24

/* /etc/subuid lines are NAME_OR_ID:START:COUNT; every line of the user is used, like podman. */
static int
read_subid_file (const char *file, const char *user, uid_t id, struct tspod_idranges *out,
                 struct tspod_error *err)
{
  char idstr[32];
  char line[512];
  FILE *f;

  out->len = 0;
  snprintf (idstr, sizeof (idstr), "%u", (unsigned) id);
  f = fopen (file, "re");
  if (f == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return tspod_fail (err, errno, "make it readable by everyone (mode 0644)", "cannot read %s",
                         file);
    }
  while (fgets (line, sizeof (line), f) != NULL)
    {
      char *name = line;
      char *start_s;
      char *count_s;
      char *end;
      unsigned long start;
      unsigned long count;

      start_s = strchr (name, ':');
      if (start_s == NULL)
        continue;
      *start_s++ = '\0';
      count_s = strchr (start_s, ':');
      if (count_s == NULL)
        continue;
      *count_s++ = '\0';
      if (strcmp (name, user) != 0 && strcmp (name, idstr) != 0)
        continue;
      errno = 0;
      start = strtoul (start_s, &end, 10);
      if (errno != 0 || end == start_s || *end != '\0')
        continue;
      count = strtoul (count_s, &end, 10);
      if (errno != 0 || end == count_s || (*end != '\0' && *end != '\n') || count == 0)
        continue;
      if (out->len == TSPOD_MAX_RANGES)
        break;
      out->ranges[out->len].start = start;
      out->ranges[out->len].count = count;
      out->len++;
    }
  if (ferror (f))
    {
      int saved = errno;
      fclose (f);
      return tspod_fail (err, saved, NULL, "cannot read %s", file);
    }
  fclose (f);
  return 0;
}

/* newuidmap is setuid root, so it need not be on the caller's PATH. */
static int
find_helper (const char *name, char *out, size_t size)
{
  if (tspod_path_lookup (getenv ("PATH"), name, out, size) == 0)
    return 0;
  return tspod_path_lookup ("/usr/bin:/usr/sbin", name, out, size);
}

int
tspod_idmap_plan (uid_t uid, gid_t gid, struct tspod_idmap_plan *plan, struct tspod_error *err)
{
  struct passwd *pw;

  plan->uid = uid;
  plan->gid = gid;
  errno = 0;
  pw = getpwuid (uid);
  if (pw != NULL && pw->pw_name != NULL)
    snprintf (plan->user, sizeof (plan->user), "%s", pw->pw_name);
  else
    snprintf (plan->user, sizeof (plan->user), "%u", (unsigned) uid);
  if (read_subid_file ("/etc/subuid", plan->user, uid, &plan->uids, err) < 0)
    return -1;
  if (read_subid_file ("/etc/subgid", plan->user, uid, &plan->gids, err) < 0)
    return -1;
  plan->newuidmap[0] = plan->newgidmap[0] = '\0';
  plan->subid = plan->uids.len > 0 && plan->gids.len > 0
                && find_helper ("newuidmap", plan->newuidmap, sizeof (plan->newuidmap)) == 0
                && find_helper ("newgidmap", plan->newgidmap, sizeof (plan->newgidmap)) == 0;
  return 0;
}

struct helper_argv
{
  char *argv[HELPER_ARGS];
  char text[HELPER_ARGS][ARG_LEN];
  size_t argc;
};

static void
push_number (struct helper_argv *args, unsigned long value)
{
  snprintf (args->text[args->argc], ARG_LEN, "%lu", value);
  args->argv[args->argc] = args->text[args->argc];
  args->argc++;
  args->argv[args->argc] = NULL;
}

/* Runs newuidmap/newgidmap; on failure its stderr becomes the error's detail. */
static int
run_map_helper (const char *helper, pid_t pid, unsigned long own_id,
                const struct tspod_idranges *ranges, struct tspod_error *err)
{
  static struct helper_argv args;
  char **argv = args.argv;
  char cmdline[256];
  char output[1024];
  size_t used = 0;
  size_t argc;
  unsigned long inside = 1;
  int status;
  int fds[2];
  pid_t child;
  size_t i;

  args.argc = 0;
  args.argv[args.argc++] = (char *) helper;
  push_number (&args, (unsigned long) pid);
  push_number (&args, 0);
  push_number (&args, own_id);
  push_number (&args, 1);
  for (i = 0; i < ranges->len; i++)
    {
      push_number (&args, inside);
      push_number (&args, ranges->ranges[i].start);
      push_number (&args, ranges->ranges[i].count);
      inside += ranges->ranges[i].count;
    }
  argc = args.argc;

  /* For the error message: the command as typed, shortened when there are many ranges. */
  cmdline[0] = '\0';
  for (i = 0; i < argc; i++)
    {
      size_t len = strlen (cmdline);
      snprintf (cmdline + len, sizeof (cmdline) - len, "%s%s", i > 0 ? " " : "", argv[i]);
    }

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return tspod_fail (err, errno, NULL, "cannot create a pipe for %s", helper);
  child = fork ();
  if (child < 0)
    {
      int saved = errno;
      close (fds[0]);
      close (fds[1]);
      return tspod_fail (err, saved, NULL, "cannot run %s", helper);
    }
  if (child == 0)
    {
      if (dup2 (fds[1], STDOUT_FILENO) < 0 || dup2 (fds[1], STDERR_FILENO) < 0)
        _exit (127);
      execv (helper, argv);
      dprintf (STDERR_FILENO, "cannot execute %s: %s", helper, strerror (errno));
      _exit (127);
    }
  close (fds[1]);
  while (used + 1 < sizeof (output))
    {
      ssize_t n = read (fds[0], output + used, sizeof (output) - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      used += (size_t) n;
    }
  output[used] = '\0';
  close (fds[0]);
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      return tspod_fail (err, errno, NULL, "cannot wait for %s", helper);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;

  tspod_fail (err, 0,
              "check that /etc/subuid and /etc/subgid give you ranges that do not include your own "
              "id and that newuidmap/newgidmap are setuid root (apt install uidmap)",
              "%s failed", cmdline);
  if (used > 0)
    tspod_error_set_detail (err, output);
  else if (WIFEXITED (status))
    snprintf (err->detail, sizeof (err->detail), "exit status %d", WEXITSTATUS (status));
  else
    snprintf (err->detail, sizeof (err->detail), "killed by signal %d", WTERMSIG (status));
  return -1;
}

/* Without newuidmap an unprivileged process may map only its own ids, and only after
 * giving up setgroups(2) in the namespace. */
static int
map_single (const struct tspod_idmap_plan *plan, pid_t pid, struct tspod_error *err)
{
  char path[64];
  char line[64];

  snprintf (path, sizeof (path), "/proc/%d/setgroups", (int) pid);
  if (tspod_write_existing (path, "deny", err) < 0)
    return -1;
  snprintf (path, sizeof (path), "/proc/%d/uid_map", (int) pid);
  snprintf (line, sizeof (line), "0 %u 1\n", (unsigned) plan->uid);
  if (tspod_write_existing (path, line, err) < 0)
    return -1;
  snprintf (path, sizeof (path), "/proc/%d/gid_map", (int) pid);
  snprintf (line, sizeof (line), "0 %u 1\n", (unsigned) plan->gid);
  return tspod_write_existing (path, line, err);
}

int
tspod_idmap_apply (const struct tspod_idmap_plan *plan, pid_t pid, struct tspod_error *err)
{
  if (! plan->subid)
    return map_single (plan, pid, err);
  if (run_map_helper (plan->newuidmap, pid, plan->uid, &plan->uids, err) < 0)
    return -1;
  return run_map_helper (plan->newgidmap, pid, plan->gid, &plan->gids, err);
}

unsigned long long
tspod_idmap_count (const char *map)
{
  unsigned long long total = 0;
  const char *p = map;

  while (*p != '\0')
    {
      char *end;
      unsigned long inside = strtoul (p, &end, 10);
      unsigned long outside = strtoul (end, &end, 10);
      unsigned long count = strtoul (end, &end, 10);

      (void) inside;
      (void) outside;
      if (end == p)
        break;
      total += count;
      p = strchr (end, '\n');
      if (p == NULL)
        break;
      p++;
    }
  return total;
}

int
tspod_idmap_is_identity (const char *map)
{
  unsigned long inside;
  unsigned long outside;
  unsigned long count;

  if (sscanf (map, "%lu %lu %lu", &inside, &outside, &count) != 3)
    return 0;
  return inside == 0 && outside == 0 && count == 4294967295UL;
}
