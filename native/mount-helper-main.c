/* tspod-mount-helper's entry point: the verbs are in mount-helper.c. */
#include "mount-helper.h"

int
main (int argc, char **argv)
{
  return tspod_mount_helper (argc, argv);
}
