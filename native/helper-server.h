/* The launcher's helper server (helper-server.c): mount-helper verbs for node without a spawn. */
#ifndef TSPOD_HELPER_SERVER_H
#define TSPOD_HELPER_SERVER_H

/* Forks the server and names its socket in $_TSPOD_HELPER_SOCKET; -1 (nothing started) on
 * failure, which only costs node the speed-up. */
int tspod_helper_server_start (void);

#endif
