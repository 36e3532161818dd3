/* tspod-portfwd: publishes ports of a network namespace on the host (see port-forwarder.c). */
#ifndef TSPOD_PORT_FORWARDER_H
#define TSPOD_PORT_FORWARDER_H

#include <netinet/in.h>
#include <sys/socket.h>

#define FWD_MAX_MAPPINGS 1024

struct fwd_mapping
{
  int udp;                           /* 0: tcp */
  char host_ip[64];                  /* "" = every address (IPv6 and IPv4) */
  int host_port;                     /* 0 = any free port */
  int host_port_max;                 /* > host_port: the first free port of the range */
  struct sockaddr_storage target;    /* where connections go, inside the namespace */
  socklen_t target_len;
  int fd;                            /* the bound socket on the host */
  int bound_port;
};

/* port-relay.c */
int relay_tcp_start (int client, const struct fwd_mapping *m);
void udp_sessions_init (void);
int udp_poll_fds (struct pollfd *fds, int max);
void udp_from_host (const struct fwd_mapping *m);
void udp_from_target (int fd);
void udp_expire (void);

#endif
