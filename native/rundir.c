#include "rundir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

/* Returns NULL when DIR is a directory owned by UID that UID can write, else why not. */
static const char *
unusable_reason (const char *dir, uid_t uid, char *buf, size_t size)
{
  struct stat st;

  if (stat (dir, &st) < 0)
    {
      snprintf (buf, size, "cannot be used (%s)", strerror (errno));
      return buf;
    }
  if (! S_ISDIR (st.st_mode))
    return "is not a directory";
  if (st.st_uid != uid)
    {
      snprintf (buf, size, "is not owned by uid %u", (unsigned) uid);
      return buf;
    }
  if (access (dir, W_OK | X_OK) < 0)
    {
      snprintf (buf, size, "is not writable by uid %u", (unsigned) uid);
      return buf;
    }
  return NULL;
}

/* The last resort lives in a world-writable directory, so it must be ours and private. */
static int
make_tmp_rundir (const char *path, uid_t uid, struct tspod_error *err)
{
  static const char hint[] = "remove it or set XDG_RUNTIME_DIR to a directory you own";
  struct stat st;

  if (mkdir (path, 0700) == 0)
    return 0;
  if (errno != EEXIST)
    return tspod_fail (err, errno, "set XDG_RUNTIME_DIR to a directory you own",
                       "cannot create runtime directory %s", path);
  if (lstat (path, &st) < 0)
    return tspod_fail (err, errno, hint, "cannot use runtime directory %s", path);
  if (! S_ISDIR (st.st_mode) || st.st_uid != uid)
    return tspod_fail (err, 0, hint, "runtime directory %s is not a directory owned by uid %u",
                       path, (unsigned) uid);
  if ((st.st_mode & 077) != 0 && chmod (path, 0700) < 0)
    return tspod_fail (err, errno, hint, "cannot make runtime directory %s private", path);
  return 0;
}

static int
make_state_dir (struct tspod_rundir *out, struct tspod_error *err)
{
  if (tspod_path_format (err, out->state, sizeof (out->state), "%s/tspod", out->path) < 0)
    return -1;
  if (mkdir (out->state, 0700) < 0 && errno != EEXIST)
    return tspod_fail (err, errno, "check the permissions of the runtime directory",
                       "cannot create %s", out->state);
  return 0;
}

int
tspod_rundir_resolve (uid_t uid, struct tspod_rundir *out, struct tspod_error *err)
{
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  const char *tmpdir = getenv ("TMPDIR");
  const char *xdg_reason = NULL;
  char reason[256];
  char run_user[64];
  char scratch[256];

  out->warning[0] = '\0';
  if (xdg != NULL && xdg[0] != '\0')
    {
      xdg_reason = unusable_reason (xdg, uid, reason, sizeof (reason));
      if (xdg_reason == NULL)
        {
          if (tspod_path_format (err, out->path, sizeof (out->path), "%s", xdg) < 0)
            return -1;
          return make_state_dir (out, err);
        }
    }

  snprintf (run_user, sizeof (run_user), "/run/user/%u", (unsigned) uid);
  if (unusable_reason (run_user, uid, scratch, sizeof (scratch)) == NULL)
    snprintf (out->path, sizeof (out->path), "%s", run_user);
  else
    {
      if (tmpdir == NULL || tmpdir[0] == '\0')
        tmpdir = "/tmp";
      if (tspod_path_format (err, out->path, sizeof (out->path), "%s/tspod-run-%u", tmpdir,
                             (unsigned) uid)
          < 0)
        return -1;
      if (make_tmp_rundir (out->path, uid, err) < 0)
        return -1;
    }

  if (xdg_reason != NULL)
    snprintf (out->warning, sizeof (out->warning), "XDG_RUNTIME_DIR \"%s\" %s: using %s", xdg,
              xdg_reason, out->path);
  return make_state_dir (out, err);
}
