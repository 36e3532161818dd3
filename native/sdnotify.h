/* sd_notify without libsystemd: one datagram to the unix socket systemd named in
 * NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). */
#ifndef TSPOD_SDNOTIFY_H
#define TSPOD_SDNOTIFY_H

#include <stddef.h>

#include "error.h"

int sdnotify_send (const char *socket_path, const char *msg, size_t len, struct tspod_error *err);

#endif
