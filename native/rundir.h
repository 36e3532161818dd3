/* Where tspod keeps per-user runtime files (pause pid, lock, sockets). */
#ifndef TSPOD_RUNDIR_H
#define TSPOD_RUNDIR_H

#include <limits.h>
#include <sys/types.h>

#include "error.h"

struct tspod_rundir
{
  char path[PATH_MAX];   /* the runtime dir, handed to the CLI as _TSPOD_RUNTIME_DIR */
  char state[PATH_MAX];  /* <path>/tspod, created 0700 */
  char warning[PATH_MAX + 256]; /* set when XDG_RUNTIME_DIR was unusable; shown only when the
                                   pause process is created, so it appears once, not per command */
};

/* $XDG_RUNTIME_DIR if usable, else /run/user/UID, else ${TMPDIR:-/tmp}/tspod-run-UID. */
int tspod_rundir_resolve (uid_t uid, struct tspod_rundir *out, struct tspod_error *err);

#endif
