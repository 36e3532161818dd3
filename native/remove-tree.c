/* rm -rf for tspod's own directories (a removed container's), in C: Node's recursive rmSync
 * took ~2 ms for the ~20 entries a container leaves, a few hundred microseconds here. It never
 * leaves the mount it starts on: a directory with something still mounted on it (a bind mount of
 * the same file system too) fails with EXDEV instead of being emptied through the mount. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "remove-tree.h"

/* A file appearing in a directory while it is emptied (ENOTEMPTY at its rmdir) is tried again
 * this many times. */
#define EMPTY_RETRIES 3

/* Where the removal started: a directory elsewhere is on another mount. */
struct origin
{
  dev_t dev;
  uint64_t mnt_id; /* 0 where statx cannot tell (Linux < 5.8): the device alone decides */
};

/* FD's mount and device; 0, or -1 with errno. */
static int
origin_of (int dirfd, const char *name, int flags, struct origin *o)
{
  struct statx stx;

  if (statx (dirfd, name, flags | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
    return -1;
  o->dev = makedev (stx.stx_dev_major, stx.stx_dev_minor);
  o->mnt_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
  return 0;
}

static int remove_entry (int dirfd, const char *name, int is_dir, const struct origin *top);

/* Removes everything in the open directory FD (closed here). */
static int
empty_directory (int fd, const struct origin *top)
{
  DIR *dir = fdopendir (fd);
  struct dirent *entry;
  int saved;

  if (dir == NULL)
    {
      saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      if (entry->d_name[0] == '.' && (entry->d_name[1] == '\0' || (entry->d_name[1] == '.' && entry->d_name[2] == '\0')))
        continue;
      /* DT_UNKNOWN (some file systems): unlink first, and EISDIR says it is a directory. */
      if (remove_entry (dirfd (dir), entry->d_name, entry->d_type == DT_DIR, top) < 0)
        {
          saved = errno;
          closedir (dir);
          errno = saved;
          return -1;
        }
    }
  closedir (dir);
  return 0;
}

static int
remove_directory (int dirfd, const char *name, const struct origin *top)
{
  int attempt;

  for (attempt = 0;; attempt++)
    {
      struct origin here;
      int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

      if (fd < 0)
        return errno == ENOENT ? 0 : -1;
      if (origin_of (fd, "", AT_EMPTY_PATH, &here) < 0 || here.dev != top->dev || (top->mnt_id != 0 && here.mnt_id != top->mnt_id))
        {
          int saved = errno;
          close (fd);
          errno = here.dev != top->dev || here.mnt_id != top->mnt_id ? EXDEV : saved;
          return -1;
        }
      if (empty_directory (fd, top) < 0)
        return -1;
      if (unlinkat (dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        return 0;
      if (errno != ENOTEMPTY || attempt == EMPTY_RETRIES)
        return -1;
    }
}

static int
remove_entry (int dirfd, const char *name, int is_dir, const struct origin *top)
{
  if (!is_dir)
    {
      if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
      if (errno != EISDIR)
        return -1;
    }
  return remove_directory (dirfd, name, top);
}

int
tspod_remove_tree (const char *path)
{
  struct stat st;
  struct origin top;

  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR (st.st_mode))
    return unlink (path) == 0 || errno == ENOENT ? 0 : -1;
  /* The mount the path's parent is on: PATH itself being a mount point is refused too. */
  {
    char parent[PATH_MAX];
    char *slash;
    if (snprintf (parent, sizeof (parent), "%s", path) >= (int) sizeof (parent))
      {
        errno = ENAMETOOLONG;
        return -1;
      }
    slash = strrchr (parent, '/');
    if (slash == parent)
      slash[1] = '\0';
    else if (slash != NULL)
      *slash = '\0';
    else
      strcpy (parent, ".");
    if (origin_of (AT_FDCWD, parent, 0, &top) < 0)
      return -1;
  }
  return remove_directory (AT_FDCWD, path, &top);
}
