/* The mount helper's verbs (mount-helper.c), for its own main() and the helper server. */
#ifndef TSPOD_MOUNT_HELPER_H
#define TSPOD_MOUNT_HELPER_H

/* ARGV[1] is the verb; output on stdout and stderr; returns the exit status. */
int tspod_mount_helper (int argc, char **argv);

#endif
