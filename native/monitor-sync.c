/* The sync channel between the monitor and the CLI that started it (monitor.c documents
 * --sync-fd, --sync-socket and --sync-start): the one JSON line that reports the create, and
 * with --sync-start the start the CLI asks for later (served by the relay: the start gate). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "monitor.h"

/* JSON string body: quotes, backslashes and control characters escaped. */
static void
json_escape (char *out, size_t size, const char *s)
{
  size_t used = 0;

  for (; *s != '\0' && used + 7 < size; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        {
          out[used++] = '\\';
          out[used++] = (char) c;
        }
      else if (c < 0x20)
        used += (size_t) snprintf (out + used, size - used, "\\u%04x", c);
      else
        out[used++] = (char) c;
    }
  out[used] = '\0';
}

static void
sync_close (struct monitor_opts *o)
{
  if (o->sync_fd >= 0)
    close (o->sync_fd);
  o->sync_fd = -1;
}

/* The last message unless KEEP_OPEN. */
static void
sync_write (struct monitor_opts *o, const char *line, int keep_open)
{
  if (o->sync_fd < 0)
    return;
  /* The caller may be gone: nothing to do about a failed write but carry on. */
  tspod_write_all (o->sync_fd, line, strlen (line));
  if (! keep_open)
    sync_close (o);
}

static void
sync_send (struct monitor_opts *o, const char *line)
{
  sync_write (o, line, 0);
}

void
monitor_sync_error (struct monitor_opts *o, const struct tspod_error *err, int code)
{
  char msg[2200];
  char escaped[sizeof (msg) * 2];
  char line[sizeof (escaped) + 64];

  monitor_format_error (err, msg, sizeof (msg));
  json_escape (escaped, sizeof (escaped), msg);
  snprintf (line, sizeof (line), "{\"error\":\"%s\",\"code\":%d}\n", escaped, code);
  if (o->sync_fd < 0)
    fprintf (stderr, "tspod-monitor: %s\n", msg);
  sync_send (o, line);
}

void
monitor_sync_pid (struct monitor_opts *o, pid_t pid)
{
  char line[64];

  snprintf (line, sizeof (line), "{\"pid\":%d}\n", (int) pid);
  sync_write (o, line, o->sync_start);
}

/* --start-fifo: what `crun start` does once it checked the container. The container's init holds
 * the read end and runs the process once a byte arrives; without the file crun's state says
 * running. -1 (nothing done) without a reader, or when the path is no FIFO. */
static int
start_by_fifo (const char *fifo)
{
  struct stat st;
  char byte = 0;
  int fd;
  int ret = -1;

  fd = open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -1;
  /* Past the unlink there is no way back: a failed write means the init is gone, which
   * `runtime start` would only report in other words. */
  if (fstat (fd, &st) == 0 && S_ISFIFO (st.st_mode) && unlink (fifo) == 0)
    ret = write (fd, &byte, 1) == 1 ? 0 : 1;
  close (fd);
  return ret;
}

/* The start gate's answer (monitor-relay.c reads the request): `runtime start`, or, when the
 * caller left without asking, the created container's deletion (it then exits as any does). */
void
monitor_serve_start (struct start_gate *gate, int start)
{
  static const char *const start_verb[] = { "start", NULL };
  struct monitor_opts *o = gate->o;
  struct tspod_error err;
  int code;

  if (! start)
    {
      sync_close (o);
      if (monitor_runtime_verb (o, monitor_delete_verb, &code, &err) < 0)
        monitor_report (o, &err);
      return;
    }
  if (o->start_fifo != NULL)
    switch (start_by_fifo (o->start_fifo))
      {
      case 0:
        sync_send (o, "{\"started\":true}\n");
        return;
      case 1:
        tspod_fail (&err, 0, NULL, "cannot start the container: its process is gone");
        monitor_sync_error (o, &err, 125);
        return;
      default:
        break;
      }
  if (monitor_runtime_verb (o, start_verb, &code, &err) < 0)
    monitor_sync_error (o, &err, code);
  else
    sync_send (o, "{\"started\":true}\n");
}

/* --sync-socket: the caller's end of the sync channel is a listening socket at that path. */
int
monitor_connect_sync_socket (struct monitor_opts *o, struct tspod_error *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (o->sync_socket) >= sizeof (addr.sun_path))
    return tspod_fail (err, 0, NULL, "--sync-socket %s: the path is too long", o->sync_socket);
  strcpy (addr.sun_path, o->sync_socket);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return tspod_fail (err, errno, NULL, "cannot create a socket");
  if (connect (fd, (struct sockaddr *) &addr, sizeof (addr)) < 0)
    {
      close (fd);
      return tspod_fail (err, errno, NULL, "cannot connect to %s", o->sync_socket);
    }
  o->sync_fd = fd;
  return 0;
}
