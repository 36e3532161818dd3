/* Joining the per-user namespace kept by the pause process, or creating it. */
#ifndef TSPOD_USERNS_H
#define TSPOD_USERNS_H

#include <sys/types.h>

#include "error.h"
#include "rundir.h"

struct tspod_userns
{
  pid_t pause_pid;
  int single;  /* only our own uid/gid is mapped (no subordinate ranges) */
  int created; /* this call created the pause process */
};

/* On success the caller is root in the user namespace and in its mount namespace. */
int tspod_userns_enter (const struct tspod_rundir *rundir, uid_t uid, gid_t gid,
                        struct tspod_userns *out, struct tspod_error *err);

#endif
