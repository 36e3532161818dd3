/* tspod-portfwd: publishes ports of a container's network namespace on the host, as Podman's
 * rootlessport does. It binds the host sockets first (in the network namespace it was started
 * in), reports the ports on the ready fd, then joins the container's namespace, where every
 * socket it opens later lives: each accepted connection is relayed to TARGET inside with
 * splice(2), so the bytes never cross into user space. It exits when the watched process (the
 * container's init) ends, and cleanup also kills it; either way the ports are released.
 *
 *   tspod-portfwd [--netns PATH] [--watch-pid PID|-] [--ready-fd FD] MAPPING...
 *   --watch-pid -: the pid comes later on stdin, one decimal line: the forwarder starts before
 *            the container's process exists (pkg/network/early-netns.ts). Should stdin close
 *            first, the start that launched it failed or died: it exits, freeing the ports.
 *   MAPPING: PROTO,HOSTIP,HOSTPORT,HOSTPORTMAX,TARGETIP,TARGETPORT   (PROTO tcp|udp; HOSTIP ""
 *            for every address; HOSTPORT 0 for a free port; HOSTPORTMAX 0 unless a range)
 *
 * The ready fd gets one line: "ok PORT..." (the bound host port of each mapping, in order) or
 * "error MESSAGE"; after an error the process exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "port-forwarder.h"

static struct fwd_mapping mappings[FWD_MAX_MAPPINGS];
static int n_mappings;
static int ready_fd = -1;

static void
report (const char *line)
{
  if (ready_fd < 0)
    return;
  if (write (ready_fd, line, strlen (line)) < 0)
    return;
}

static void __attribute__ ((noreturn))
die (const char *fmt, const char *arg, int errnum)
{
  char line[1024];
  int n = snprintf (line, sizeof line, "error ");
  n += snprintf (line + n, sizeof line - n, fmt, arg);
  if (errnum)
    snprintf (line + n, sizeof line - n, ": %s", strerror (errnum));
  strncat (line, "\n", sizeof line - strlen (line) - 1);
  report (line);
  if (ready_fd < 0)
    fputs (line, stderr);
  exit (1);
}

static int
parse_port (const char *s, int allow_zero)
{
  char *end;
  long v = strtol (s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < (allow_zero ? 0 : 1) || v > 65535)
    die ("invalid port \"%s\"", s, 0);
  return (int) v;
}

static void
parse_target (struct fwd_mapping *m, const char *ip, int port)
{
  struct sockaddr_in *v4 = (struct sockaddr_in *) &m->target;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &m->target;
  memset (&m->target, 0, sizeof m->target);
  if (inet_pton (AF_INET, ip, &v4->sin_addr) == 1)
    {
      v4->sin_family = AF_INET;
      v4->sin_port = htons (port);
      m->target_len = sizeof *v4;
    }
  else if (inet_pton (AF_INET6, ip, &v6->sin6_addr) == 1)
    {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons (port);
      m->target_len = sizeof *v6;
    }
  else
    die ("invalid target address \"%s\"", ip, 0);
}

/* PROTO,HOSTIP,HOSTPORT,HOSTPORTMAX,TARGETIP,TARGETPORT */
static void
parse_mapping (char *spec, struct fwd_mapping *m)
{
  char *field[6];
  int n = 0;
  char *p = spec;
  for (; n < 6; n++)
    {
      field[n] = p;
      p = strchr (p, ',');
      if (!p)
        break;
      *p++ = '\0';
    }
  if (n != 5)
    die ("invalid mapping \"%s\": use PROTO,HOSTIP,HOSTPORT,HOSTPORTMAX,TARGETIP,TARGETPORT", spec, 0);
  if (strcmp (field[0], "tcp") != 0 && strcmp (field[0], "udp") != 0)
    die ("unsupported protocol \"%s\"", field[0], 0);
  m->udp = strcmp (field[0], "udp") == 0;
  snprintf (m->host_ip, sizeof m->host_ip, "%s", field[1]);
  m->host_port = parse_port (field[2], 1);
  m->host_port_max = parse_port (field[3], 1);
  parse_target (m, field[4], parse_port (field[5], 0));
  m->fd = -1;
}

/* A socket bound to ip:port; "" binds IPv6's any address accepting IPv4 too, or IPv4's when
 * the host has no IPv6. Returns the fd, or -1 with errno set. */
static int
bind_one (const struct fwd_mapping *m, int port)
{
  int type = (m->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC;
  struct sockaddr_storage ss;
  socklen_t len;
  struct sockaddr_in *v4 = (struct sockaddr_in *) &ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &ss;
  int one = 1, zero = 0, fd, saved;

  memset (&ss, 0, sizeof ss);
  if (m->host_ip[0] == '\0' || strchr (m->host_ip, ':'))
    {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons (port);
      v6->sin6_addr = in6addr_any;
      if (m->host_ip[0] && inet_pton (AF_INET6, m->host_ip, &v6->sin6_addr) != 1)
        die ("invalid host address \"%s\"", m->host_ip, 0);
      len = sizeof *v6;
    }
  else
    {
      v4->sin_family = AF_INET;
      v4->sin_port = htons (port);
      if (inet_pton (AF_INET, m->host_ip, &v4->sin_addr) != 1)
        die ("invalid host address \"%s\"", m->host_ip, 0);
      len = sizeof *v4;
    }
  fd = socket (ss.ss_family, type, 0);
  if (fd < 0 && ss.ss_family == AF_INET6 && m->host_ip[0] == '\0' && errno == EAFNOSUPPORT)
    {
      memset (&ss, 0, sizeof ss);
      v4->sin_family = AF_INET;
      v4->sin_port = htons (port);
      len = sizeof *v4;
      fd = socket (AF_INET, type, 0);
    }
  if (fd < 0)
    return -1;
  if (ss.ss_family == AF_INET6 && m->host_ip[0] == '\0')
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (!m->udp)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &ss, len) < 0 || (!m->udp && listen (fd, 128) < 0))
    {
      saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

static int
local_port (int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
    return 0;
  if (ss.ss_family == AF_INET6)
    return ntohs (((struct sockaddr_in6 *) &ss)->sin6_port);
  return ntohs (((struct sockaddr_in *) &ss)->sin_port);
}

static void
bind_mapping (struct fwd_mapping *m)
{
  char what[128];
  int last = m->host_port_max > m->host_port ? m->host_port_max : m->host_port;
  int port;
  for (port = m->host_port; port <= last; port++)
    {
      m->fd = bind_one (m, port);
      if (m->fd >= 0 || errno != EADDRINUSE)
        break;
    }
  snprintf (what, sizeof what, "%s%s%s:%d/%s", strchr (m->host_ip, ':') ? "[" : "", m->host_ip[0] ? m->host_ip : "0.0.0.0",
            strchr (m->host_ip, ':') ? "]" : "", m->host_port, m->udp ? "udp" : "tcp");
  if (m->fd < 0)
    die ("cannot bind %s", what, errno);
  m->bound_port = local_port (m->fd);
  fcntl (m->fd, F_SETFL, fcntl (m->fd, F_GETFL) | O_NONBLOCK);
}

static void
join_netns (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die ("cannot open network namespace %s", path, errno);
  if (setns (fd, CLONE_NEWNET) < 0)
    die ("cannot join network namespace %s", path, errno);
  close (fd);
}

static int
watch_pid (const char *text)
{
  int pid = atoi (text);
  int fd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (fd < 0)
    die ("cannot watch process %s", text, errno);
  return fd;
}

/* The pid promised by --watch-pid -: a pidfd for it, or exit when stdin ends without one. */
static int
read_watch_pid (void)
{
  char line[32];
  ssize_t n = read (STDIN_FILENO, line, sizeof line - 1);
  int fd;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return -1;
  if (n <= 0)
    exit (0);
  line[n] = '\0';
  fd = (int) syscall (SYS_pidfd_open, atoi (line), 0);
  /* Already gone: the container ended before it was handed over. */
  if (fd < 0)
    exit (0);
  return fd;
}

static void
announce (void)
{
  char line[FWD_MAX_MAPPINGS * 7 + 8];
  int n = snprintf (line, sizeof line, "ok");
  for (int i = 0; i < n_mappings; i++)
    n += snprintf (line + n, sizeof line - n, " %d", mappings[i].bound_port);
  snprintf (line + n, sizeof line - n, "\n");
  report (line);
  if (ready_fd >= 0)
    close (ready_fd);
  ready_fd = -1;
}

static void
accept_on (const struct fwd_mapping *m)
{
  for (;;)
    {
      int c = accept4 (m->fd, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        return;
      if (relay_tcp_start (c, m) < 0)
        close (c);
    }
}

/* PIDFD -1 with PID_LATER: until the pid arrives, fd 0 (stdin) takes the pidfd's slot. */
static void
serve (int pidfd, int pid_later)
{
  static struct pollfd fds[FWD_MAX_MAPPINGS + 1 + 256];
  for (;;)
    {
      int n = 0, udp_first, ready;
      int waiting = pid_later && pidfd < 0;
      fds[n++] = (struct pollfd) { .fd = waiting ? STDIN_FILENO : pidfd, .events = POLLIN };
      for (int i = 0; i < n_mappings; i++)
        fds[n++] = (struct pollfd) { .fd = mappings[i].fd, .events = POLLIN };
      udp_first = n;
      n += udp_poll_fds (fds + n, (int) (sizeof fds / sizeof fds[0]) - n);
      ready = poll (fds, n, 10000);
      if (ready < 0 && errno != EINTR)
        exit (1);
      if (waiting && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        pidfd = read_watch_pid ();
      else if (pidfd >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        exit (0);
      for (int i = 0; i < n_mappings; i++)
        {
          if (!(fds[1 + i].revents & POLLIN))
            continue;
          if (mappings[i].udp)
            udp_from_host (&mappings[i]);
          else
            accept_on (&mappings[i]);
        }
      for (int i = udp_first; i < n; i++)
        if (fds[i].revents & (POLLIN | POLLERR))
          udp_from_target (fds[i].fd);
      udp_expire ();
    }
}

int
main (int argc, char **argv)
{
  const char *netns = NULL, *pid = NULL;
  int i, pidfd = -1;
  for (i = 1; i < argc && strncmp (argv[i], "--", 2) == 0; i += 2)
    {
      if (i + 1 >= argc)
        die ("%s needs a value", argv[i], 0);
      if (strcmp (argv[i], "--netns") == 0)
        netns = argv[i + 1];
      else if (strcmp (argv[i], "--watch-pid") == 0)
        pid = argv[i + 1];
      else if (strcmp (argv[i], "--ready-fd") == 0)
        ready_fd = atoi (argv[i + 1]);
      else
        die ("unknown option %s", argv[i], 0);
    }
  if (i >= argc)
    die ("%s", "usage: tspod-portfwd [--netns PATH] [--watch-pid PID|-] [--ready-fd FD] MAPPING...", 0);
  signal (SIGPIPE, SIG_IGN);
  for (; i < argc && n_mappings < FWD_MAX_MAPPINGS; i++)
    parse_mapping (argv[i], &mappings[n_mappings++]);
  for (i = 0; i < n_mappings; i++)
    bind_mapping (&mappings[i]);
  if (pid && strcmp (pid, "-") != 0)
    pidfd = watch_pid (pid);
  if (netns)
    join_netns (netns);
  udp_sessions_init ();
  if (chdir ("/") < 0)
    die ("%s", "cannot chdir to /", errno);
  announce ();
  serve (pidfd, pid != NULL && strcmp (pid, "-") == 0);
  return 0;
}
