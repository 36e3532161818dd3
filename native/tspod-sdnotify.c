/* tspod-sdnotify SOCKET MESSAGE: sends MESSAGE (NAME=VALUE lines) to the sd_notify socket
 * SOCKET. Node has no unix datagram sockets; pkg/container/sdnotify.ts runs this to tell
 * systemd that a container started (--sdnotify=conmon). Exit 0, or 125 with the error. */
#include <stdio.h>
#include <string.h>

#include "sdnotify.h"

int
main (int argc, char **argv)
{
  struct tspod_error err;

  if (argc != 3)
    {
      fprintf (stderr, "usage: tspod-sdnotify SOCKET MESSAGE\n");
      return TSPOD_EXIT_FAILURE;
    }
  if (sdnotify_send (argv[1], argv[2], strlen (argv[2]), &err) < 0)
    tspod_error_exit (&err);
  return 0;
}
