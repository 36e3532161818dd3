/* The pause process: it owns the per-user user+mount namespace and keeps it alive between
 * commands, so every tspod call after the first only has to setns(2) into it. */
#ifndef TSPOD_PAUSE_H
#define TSPOD_PAUSE_H

#include <sys/types.h>

#define TSPOD_PAUSE_COMM "tspod-pause"
/* argv of the pause process once it re-executed itself: TSPOD_PAUSE_COMM TSPOD_PAUSE_IDLE_ARG FD */
#define TSPOD_PAUSE_IDLE_ARG "--idle"

/* What the pause process tells its creator over the sync socket, after each stage. */
struct tspod_pause_report
{
  int errnum;     /* 0 on success */
  pid_t pid;      /* the pause process, as seen from the creator */
  char step[64];  /* the call that failed */
};

/* Runs in the freshly forked (and already reparented) pause process: unshare, report, wait to
 * be mapped, then become an idle daemon. Never returns. */
void tspod_pause_main (int sync_fd) __attribute__ ((noreturn));

/* The launcher was started as the re-executed pause process (see tspod_pause_main). */
int tspod_pause_requested (int argc, char **argv);
/* What the re-executed pause process does: reports ready on SYNC_FD, then nothing until
 * SIGTERM or SIGKILL. */
void tspod_pause_idle (int sync_fd) __attribute__ ((noreturn));

#endif
