/* tspod-monitor: the options every part reads, and each part's entry points. main() is in
 * monitor.c (daemonizing, the sync message, the exit sequence); the rest is split by concern:
 *   monitor-args.c     the command line
 *   monitor-sync.c     the sync channel with the CLI (the create's report, the start request)
 *   monitor-runtime.c  `runtime create` / `runtime exec`, stdio pipes, console socket + pty
 *   monitor-verbs.c    `runtime start` on the caller's request, `runtime delete` and unmounts
 *                      at the exit
 *   monitor-relay.c    the event loop: container output to log and clients, stdin, exit
 *   monitor-attach.c   the attach socket server, its clients and frames
 *   monitor-socket.c   binding the attach and console sockets
 *   monitor-log.c      k8s-file / json-file writers with rotation
 *   monitor-log-journald.c  journal entries over journald's native socket
 *   monitor-exit.c     exit code, exit file, exit command
 *   monitor-health.c   the health check timer
 *   monitor-notify.c   the sd_notify proxy of --sdnotify=container */
#ifndef TSPOD_MONITOR_H
#define TSPOD_MONITOR_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum monitor_log_driver
{
  MONITOR_LOG_NONE,
  MONITOR_LOG_K8S_FILE,
  MONITOR_LOG_JSON_FILE,
  MONITOR_LOG_PASSTHROUGH,
  MONITOR_LOG_LOCAL,
  MONITOR_LOG_JOURNALD,
};

#define JOURNAL_SOCKET_DEFAULT "/run/systemd/journal/socket"

struct monitor_opts
{
  const char *cid;
  const char *bundle;
  const char *runtime;
  const char **runtime_args; /* NULL-terminated */
  const char *exit_dir;
  const char *socket_dir;
  enum monitor_log_driver log_driver;
  const char *log_path;
  const char *name;           /* the container's name (journald's CONTAINER_NAME) */
  const char *log_tag;        /* --log-opt tag= (CONTAINER_TAG, SYSLOG_IDENTIFIER) */
  const char *journal_socket; /* journald's native socket; default JOURNAL_SOCKET_DEFAULT */
  long long log_size_max; /* <= 0: unlimited */
  int log_max_files;
  int log_compress; /* rotated files become FILE.N.gz */
  int terminal;
  int stdin_open;
  int passthrough; /* the container's stdio is the monitor's inherited 0/1/2 */
  int sync_fd;     /* -1 when not given */
  const char *sync_socket; /* the sync fd is a connection to this socket (the caller listens) */
  int ready_fd;    /* -1 when not given: started detached, tell it here rather than fork */
  const char *pidfile;
  const char *container_pidfile;
  const char *exit_command;
  const char **exit_command_args; /* NULL-terminated */
  int exec;
  const char *exec_process;
  const char *exec_id;
  int exec_attach; /* hold the output until the first attach client (or a timeout) */
  int syslog;
  long long health_interval_ms; /* > 0 with health_command: the health check timer */
  const char *health_command;
  const char **health_command_args; /* NULL-terminated */
  const char *sdnotify_proxy;  /* --sdnotify=container: the container's notify socket */
  const char *sdnotify_socket; /* systemd's NOTIFY_SOCKET, where the proxy relays to */
  int sync_start;              /* the caller asks for `runtime start` over the sync fd */
  const char *start_fifo;      /* crun's exec.fifo: written to start, rather than `crun start` */
  int release_runtime;         /* `runtime delete` at the exit */
  const char **release_mounts; /* unmounted at the exit; NULL-terminated */
};

/* Attach frames: [type u8][length u32 big-endian][payload] (pkg/runtime/monitor-protocol.ts). */
enum monitor_frame
{
  FRAME_STDIN = 0,
  FRAME_STDOUT = 1,
  FRAME_STDERR = 2,
  FRAME_RESIZE = 3,
  FRAME_STDIN_EOF = 4,
  FRAME_EXIT = 5,
  FRAME_DETACH = 6,
  /* The client (an attached `run --rm`) removes the container itself after the exit: the
   * exit command is left out if it then reports FRAME_CLEANUP_DONE before closing. */
  FRAME_CLEANUP = 7,
  FRAME_CLEANUP_DONE = 8,
};

#define FRAME_HEADER_SIZE 5

/* The container's stdio as the monitor holds it; -1 where absent. */
struct container_io
{
  int out_fd;    /* stdout pipe, or the pty master */
  int err_fd;    /* stderr pipe */
  int in_fd;     /* stdin pipe (write end), or a dup of the pty master */
  int pty;       /* out_fd/in_fd are the pty master */
};

/* ---- monitor-args.c */
int monitor_parse_args (int argc, char **argv, struct monitor_opts *o, struct tspod_error *err);

/* ---- monitor.c */
/* After the sync message: errors go to stderr (/dev/null once detached) and syslog. */
void monitor_report (const struct monitor_opts *o, const struct tspod_error *err);
/* "what: why" on one line. */
void monitor_format_error (const struct tspod_error *err, char *buf, size_t size);
int64_t monitor_now_ms (void);
/* Child side of a fork: the default signal mask before exec (the monitor blocks several). */
int monitor_child_signals (void);

/* ---- monitor-sync.c */
/* The sync channel: errors ({"error":...,"code":N}, closing it) and the create's pid (closing it
 * unless --sync-start); the start gate's serve callback; --sync-socket's connect. */
void monitor_sync_error (struct monitor_opts *o, const struct tspod_error *err, int code);
void monitor_sync_pid (struct monitor_opts *o, pid_t pid);
struct start_gate;
void monitor_serve_start (struct start_gate *gate, int start);
int monitor_connect_sync_socket (struct monitor_opts *o, struct tspod_error *err);

/* ---- monitor-runtime.c */
/* Runs `runtime create` (or `runtime exec --detach`), fills IO and *PID. On failure *CODE is
 * the runtime's exit status (125 when it never ran) and err holds its stderr, on one line. */
int monitor_runtime_start (const struct monitor_opts *o, int signal_fd, struct container_io *io,
                           pid_t *pid, int *code, struct tspod_error *err);

/* Keeps the last CAP - 1 bytes of a stream in BUF (*LEN used so far). */
void monitor_keep_tail (char *buf, size_t cap, size_t *len, const char *data, size_t n);
/* A runtime's stderr on one line: lines trimmed, empty ones dropped, joined by "; ". */
void monitor_flatten (const char *in, size_t len, char *out, size_t size);

/* ---- monitor-verbs.c */
/* Runs `runtime GLOBAL-ARGS... VERB... CID` (VERB NULL-terminated) and waits for it; *CODE its
 * exit status. On failure err holds its stderr on one line. */
int monitor_runtime_verb (const struct monitor_opts *o, const char *const *verb, int *code,
                          struct tspod_error *err);
/* `delete --force`: the created container of a caller that left, the exited one at the release. */
extern const char *const monitor_delete_verb[];
/* After the exit: `runtime delete --force` (--release-runtime) while the --release-mount
 * targets are unmounted; failures are reported, not returned. */
void monitor_release (const struct monitor_opts *o);

/* ---- monitor-log.c */
struct log_writer;
struct log_writer *log_writer_new (const struct monitor_opts *o, struct tspod_error *err);
/* STREAM is FRAME_STDOUT or FRAME_STDERR. */
int log_writer_write (struct log_writer *w, int stream, const char *data, size_t len,
                      struct tspod_error *err);
/* Writes partial lines still buffered (as P records), closes, frees. */
int log_writer_close (struct log_writer *w, struct tspod_error *err);

/* ---- monitor-log-local.c */
/* Docker's local driver record: [size u32 BE][protobuf LogEntry][size u32 BE]. Writes the bytes
 * before the line into HEAD (LOCAL_HEAD_MAX) and those after it into TAIL (LOCAL_TAIL_MAX). */
#define LOCAL_HEAD_MAX 48
#define LOCAL_TAIL_MAX 6
size_t local_record_head (char *head, int stream, long long time_ns, size_t line_len, int partial);
size_t local_record_tail (char *tail, size_t line_len, int partial, int stream, long long time_ns);

/* ---- monitor-log-journald.c */
struct journal_sink;
/* Fails only when the writer cannot be set up; an unreachable journal is reported by sends. */
struct journal_sink *journal_sink_new (const struct monitor_opts *o, struct tspod_error *err);
/* One entry: DATA without its '\n'; PARTIAL for a piece of a line. */
int journal_sink_send (struct journal_sink *j, int stream, const char *data, size_t len,
                       int partial, struct tspod_error *err);
/* Waits briefly until journald has read what was sent, then closes and frees. */
void journal_sink_close (struct journal_sink *j);

/* ---- monitor-log-gzip.c */
/* Compresses FROM into TO (through TO.tmp, then rename) and removes FROM. */
int log_gzip_file (const char *from, const char *to, struct tspod_error *err);

/* ---- monitor-socket.c */
/* Binds a listening SOCK_STREAM socket DIR/NAME, mode 0600; a long DIR goes through
 * /proc/self/fd. *PATH_OUT (PATH_MAX) gets a path other processes can connect to. */
int monitor_listen_unix (const char *dir, const char *name, int *fd, char *path_out,
                         struct tspod_error *err);

/* ---- monitor-attach.c */
struct attach_server;
struct attach_server *attach_server_new (const struct monitor_opts *o, struct tspod_error *err);
int attach_server_listen_fd (const struct attach_server *s);
/* Stdin the clients sent, for the relay to write to the container. */
struct stdin_sink
{
  int fd;            /* -1 once closed or when the container has no stdin */
  int pty;           /* fd is the pty master: EOF frames do nothing, resize frames apply */
  int accepting;     /* stdin frames are forwarded (--stdin) */
  char *buf;
  size_t len;
  int eof_requested;
};
#define STDIN_BUF_MAX (64 * 1024)
int attach_server_accept (struct attach_server *s);
/* pollfd entries for the clients: POLLIN when stdin has room, POLLOUT when output waits. */
size_t attach_server_pollfds (const struct attach_server *s, struct pollfd *pfds, size_t max,
                              int want_input);
/* Handles the revents of the entries attach_server_pollfds filled (same order). */
void attach_server_handle (struct attach_server *s, const struct pollfd *pfds, size_t n,
                           struct stdin_sink *in);
void attach_server_broadcast (struct attach_server *s, int type, const char *data, size_t len);
/* A client is over its high-water mark: hold the output back (clients that stay behind too
 * long are dropped here). */
int attach_server_backlogged (struct attach_server *s);
/* When attach_server_backlogged will next drop a client; -1 when no client is behind. */
int64_t attach_server_stall_deadline (const struct attach_server *s);
size_t attach_server_clients (const struct attach_server *s);
/* Sends the exit frame (none when EXIT_CODE < 0) to every client, flushes for at most
 * TIMEOUT_MS, waits for them to close (at most TIMEOUT_MS, CLEANUP_MS for a client that
 * announced FRAME_CLEANUP), removes the socket file. *CLEANED: a client reported
 * FRAME_CLEANUP_DONE. */
int attach_server_finish (struct attach_server *s, int exit_code, int timeout_ms, int cleanup_ms,
                          int *cleaned, struct tspod_error *err);

/* ---- monitor-relay.c */
/* --sync-start: the caller's request to start, read by the relay, which serves it once the
 * attach clients that connected before it are accepted and their first frames (the terminal's
 * size) handled. */
struct start_gate
{
  int fd;         /* the sync fd while the request is awaited, else -1 */
  int requested;  /* "start" came: served at the end of an iteration that accepted no client */
  char line[16];  /* the request as read so far */
  size_t len;
  /* START: run `runtime start` and answer; 0: the caller left without asking. */
  void (*serve) (struct start_gate *gate, int start);
  struct monitor_opts *o;
};
/* Relays until the container has exited and its output is drained; *STATUS: wait status.
 * GATE may be NULL (the container runs already). */
int monitor_relay (const struct monitor_opts *o, int signal_fd, struct container_io *io,
                   pid_t pid, struct log_writer *log, struct attach_server *attach,
                   struct start_gate *gate, int *status);

/* ---- monitor-exit.c */
int monitor_exit_code (int wait_status);
int monitor_write_exit_file (const struct monitor_opts *o, int code, struct tspod_error *err);
/* Starts the exit command detached (stdio /dev/null) and does not wait for it. */
int monitor_run_exit_command (const struct monitor_opts *o, struct tspod_error *err);
/* Forks PROGRAM ARGS... (ARGS NULL-terminated) in a session of its own, stdio /dev/null. */
int monitor_spawn (const char *program, const char **args, pid_t *pid, struct tspod_error *err);

/* ---- monitor-health.c */
/* The health check timer: `--health-command ARGS...` runs --health-interval-ms after the
 * container started and after each check ended (one check at a time), until the exit. */
struct health_timer
{
  int64_t next; /* -1: nothing scheduled (no health check, a check runs, or the exit) */
  pid_t pid;    /* the check running now, 0 when none */
};
void health_timer_init (struct health_timer *t, const struct monitor_opts *o);
/* When health_timer_tick next has work; -1 for never. */
int64_t health_timer_deadline (const struct health_timer *t);
void health_timer_tick (struct health_timer *t, const struct monitor_opts *o);
/* A child was reaped: if it was the check, the next one is scheduled. */
void health_timer_reaped (struct health_timer *t, const struct monitor_opts *o, pid_t pid);
void health_timer_stop (struct health_timer *t);

/* ---- monitor-notify.c */
/* Binds the proxy socket (--sdnotify-proxy) when asked; before the runtime creates the
 * container, which mounts it. */
int notify_proxy_open (const struct monitor_opts *o, struct tspod_error *err);
/* The proxy socket to poll, -1 without one. */
int notify_proxy_fd (void);
/* Reads what the container sent and relays it to --sdnotify-socket (see monitor-notify.c). */
void notify_proxy_handle (const struct monitor_opts *o, pid_t container_pid);

#endif
