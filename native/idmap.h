/* Which ids the user namespace maps: the user's /etc/subuid and /etc/subgid ranges through
 * newuidmap/newgidmap, or only the user's own uid/gid when those are missing. */
#ifndef TSPOD_IDMAP_H
#define TSPOD_IDMAP_H

#include <limits.h>
#include <sys/types.h>

#include "error.h"

/* The kernel accepts 340 lines per map; one is taken by the user's own id. */
#define TSPOD_MAX_RANGES 339

struct tspod_idrange
{
  unsigned long start;
  unsigned long count;
};

struct tspod_idranges
{
  size_t len;
  struct tspod_idrange ranges[TSPOD_MAX_RANGES];
};

struct tspod_idmap_plan
{
  uid_t uid;
  gid_t gid;
  char user[256]; /* login name, or the numeric uid when there is no passwd entry */
  struct tspod_idranges uids;
  struct tspod_idranges gids;
  char newuidmap[PATH_MAX];
  char newgidmap[PATH_MAX];
  int subid; /* 1: map the subordinate ranges; 0: single-id map of uid/gid only */
};

int tspod_idmap_plan (uid_t uid, gid_t gid, struct tspod_idmap_plan *plan, struct tspod_error *err);
/* Writes the maps of PID's fresh user namespace, from outside it. */
int tspod_idmap_apply (const struct tspod_idmap_plan *plan, pid_t pid, struct tspod_error *err);
/* Number of ids a uid_map/gid_map text maps, and whether it is the initial namespace's map. */
unsigned long long tspod_idmap_count (const char *map);
int tspod_idmap_is_identity (const char *map);

#endif
