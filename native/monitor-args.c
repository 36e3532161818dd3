/* tspod-monitor's command line (documented at the top of monitor.c): getopt_long into
 * struct monitor_opts, required options checked, paths made absolute (the monitor leaves the
 * caller's working directory). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"

enum
{
  OPT_CID = 256,
  OPT_BUNDLE,
  OPT_RUNTIME,
  OPT_RUNTIME_ARG,
  OPT_EXIT_DIR,
  OPT_SOCKET_DIR,
  OPT_LOG_DRIVER,
  OPT_LOG_PATH,
  OPT_LOG_SIZE_MAX,
  OPT_LOG_MAX_FILES,
  OPT_LOG_COMPRESS,
  OPT_TERMINAL,
  OPT_STDIN,
  OPT_PASSTHROUGH_FDS,
  OPT_SYNC_FD,
  OPT_PIDFILE,
  OPT_CONTAINER_PIDFILE,
  OPT_EXIT_COMMAND,
  OPT_EXIT_COMMAND_ARG,
  OPT_EXEC,
  OPT_EXEC_PROCESS,
  OPT_EXEC_ID,
  OPT_EXEC_ATTACH,
  OPT_SYSLOG,
  OPT_LOG_LEVEL,
  OPT_NO_NEW_KEYRING,
  OPT_HEALTH_INTERVAL_MS,
  OPT_HEALTH_COMMAND,
  OPT_HEALTH_COMMAND_ARG,
  OPT_SDNOTIFY_PROXY,
  OPT_SDNOTIFY_SOCKET,
  OPT_SYNC_START,
  OPT_RELEASE_RUNTIME,
  OPT_RELEASE_MOUNT,
  OPT_SYNC_SOCKET,
  OPT_NAME,
  OPT_LOG_TAG,
  OPT_JOURNAL_SOCKET,
  OPT_READY_FD,
  OPT_START_FIFO,
};

static const struct option long_options[] = {
  { "cid", required_argument, NULL, OPT_CID },
  { "bundle", required_argument, NULL, OPT_BUNDLE },
  { "runtime", required_argument, NULL, OPT_RUNTIME },
  { "runtime-arg", required_argument, NULL, OPT_RUNTIME_ARG },
  { "exit-dir", required_argument, NULL, OPT_EXIT_DIR },
  { "socket-dir", required_argument, NULL, OPT_SOCKET_DIR },
  { "log-driver", required_argument, NULL, OPT_LOG_DRIVER },
  { "log-path", required_argument, NULL, OPT_LOG_PATH },
  { "log-size-max", required_argument, NULL, OPT_LOG_SIZE_MAX },
  { "log-max-files", required_argument, NULL, OPT_LOG_MAX_FILES },
  { "log-compress", no_argument, NULL, OPT_LOG_COMPRESS },
  { "terminal", no_argument, NULL, OPT_TERMINAL },
  { "stdin", no_argument, NULL, OPT_STDIN },
  { "passthrough-fds", no_argument, NULL, OPT_PASSTHROUGH_FDS },
  { "sync-fd", required_argument, NULL, OPT_SYNC_FD },
  { "pidfile", required_argument, NULL, OPT_PIDFILE },
  { "container-pidfile", required_argument, NULL, OPT_CONTAINER_PIDFILE },
  { "exit-command", required_argument, NULL, OPT_EXIT_COMMAND },
  { "exit-command-arg", required_argument, NULL, OPT_EXIT_COMMAND_ARG },
  { "exec", no_argument, NULL, OPT_EXEC },
  { "exec-process", required_argument, NULL, OPT_EXEC_PROCESS },
  { "exec-id", required_argument, NULL, OPT_EXEC_ID },
  { "exec-attach", no_argument, NULL, OPT_EXEC_ATTACH },
  { "syslog", no_argument, NULL, OPT_SYSLOG },
  { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
  { "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
  { "health-interval-ms", required_argument, NULL, OPT_HEALTH_INTERVAL_MS },
  { "health-command", required_argument, NULL, OPT_HEALTH_COMMAND },
  { "health-command-arg", required_argument, NULL, OPT_HEALTH_COMMAND_ARG },
  { "sdnotify-proxy", required_argument, NULL, OPT_SDNOTIFY_PROXY },
  { "sdnotify-socket", required_argument, NULL, OPT_SDNOTIFY_SOCKET },
  { "sync-start", no_argument, NULL, OPT_SYNC_START },
  { "release-runtime", no_argument, NULL, OPT_RELEASE_RUNTIME },
  { "release-mount", required_argument, NULL, OPT_RELEASE_MOUNT },
  { "sync-socket", required_argument, NULL, OPT_SYNC_SOCKET },
  { "name", required_argument, NULL, OPT_NAME },
  { "log-tag", required_argument, NULL, OPT_LOG_TAG },
  { "journal-socket", required_argument, NULL, OPT_JOURNAL_SOCKET },
  { "ready-fd", required_argument, NULL, OPT_READY_FD },
  { "start-fifo", required_argument, NULL, OPT_START_FIFO },
  { NULL, 0, NULL, 0 },
};

static int
push_arg (const char ***list, size_t *len, const char *value, struct tspod_error *err)
{
  const char **grown = realloc (*list, (*len + 2) * sizeof (**list));

  if (grown == NULL)
    return tspod_fail (err, errno, NULL, "cannot allocate the argument list");
  grown[(*len)++] = value;
  grown[*len] = NULL;
  *list = grown;
  return 0;
}

/* An option never given still gets an empty, NULL-terminated list. */
static int
terminate (const char ***list, struct tspod_error *err)
{
  if (*list != NULL)
    return 0;
  *list = calloc (1, sizeof (**list));
  if (*list == NULL)
    return tspod_fail (err, errno, NULL, "cannot allocate the argument list");
  return 0;
}

static int
parse_number (const char *name, const char *value, long long *out, struct tspod_error *err)
{
  char *end = NULL;

  errno = 0;
  *out = strtoll (value, &end, 10);
  if (errno != 0 || end == value || *end != '\0')
    return tspod_fail (err, 0, NULL, "invalid --%s: %s", name, value);
  return 0;
}

static int
parse_log_driver (const char *value, struct monitor_opts *o, struct tspod_error *err)
{
  if (strcmp (value, "k8s-file") == 0)
    o->log_driver = MONITOR_LOG_K8S_FILE;
  else if (strcmp (value, "json-file") == 0)
    o->log_driver = MONITOR_LOG_JSON_FILE;
  else if (strcmp (value, "none") == 0)
    o->log_driver = MONITOR_LOG_NONE;
  else if (strcmp (value, "passthrough") == 0)
    o->log_driver = MONITOR_LOG_PASSTHROUGH;
  else if (strcmp (value, "local") == 0)
    o->log_driver = MONITOR_LOG_LOCAL;
  else if (strcmp (value, "journald") == 0)
    o->log_driver = MONITOR_LOG_JOURNALD;
  else
    return tspod_fail (err, 0, NULL, "unknown --log-driver %s", value);
  return 0;
}

/* Paths are made absolute before the monitor leaves the caller's working directory. */
static int
absolute (const char **path, struct tspod_error *err)
{
  char cwd[PATH_MAX];
  char *joined;

  if (*path == NULL || (*path)[0] == '/')
    return 0;
  if (getcwd (cwd, sizeof (cwd)) == NULL)
    return tspod_fail (err, errno, NULL, "cannot get the working directory");
  if (asprintf (&joined, "%s/%s", cwd, *path) < 0)
    return tspod_fail (err, errno, NULL, "cannot allocate a path");
  *path = joined;
  return 0;
}

static int
absolute_paths (struct monitor_opts *o, struct tspod_error *err)
{
  const char **paths[] = { &o->bundle, &o->exit_dir, &o->socket_dir, &o->log_path,
                           &o->pidfile, &o->container_pidfile, &o->exec_process,
                           &o->sdnotify_proxy };
  /* Programs named without a slash are looked up on $PATH instead (execvp). */
  const char **programs[] = { &o->runtime, &o->exit_command, &o->health_command };
  size_t i;

  for (i = 0; i < sizeof (paths) / sizeof (paths[0]); i++)
    if (absolute (paths[i], err) < 0)
      return -1;
  for (i = 0; i < sizeof (programs) / sizeof (programs[0]); i++)
    if (*programs[i] != NULL && strchr (*programs[i], '/') != NULL
        && absolute (programs[i], err) < 0)
      return -1;
  for (i = 0; o->release_mounts[i] != NULL; i++)
    if (absolute (&o->release_mounts[i], err) < 0)
      return -1;
  return 0;
}

static int
default_container_pidfile (struct monitor_opts *o, struct tspod_error *err)
{
  char *path;

  if (o->container_pidfile != NULL)
    return 0;
  if (asprintf (&path, "%s/%s", o->socket_dir, o->exec ? "exec.pid" : "container.pid") < 0)
    return tspod_fail (err, errno, NULL, "cannot allocate a path");
  o->container_pidfile = path;
  return 0;
}

static int
check_required (const struct monitor_opts *o, struct tspod_error *err)
{
  if (o->cid == NULL || o->runtime == NULL || o->exit_dir == NULL || o->socket_dir == NULL)
    return tspod_fail (err, 0, NULL, "--cid, --runtime, --exit-dir and --socket-dir are required");
  if (! o->exec && o->bundle == NULL)
    return tspod_fail (err, 0, NULL, "--bundle is required (or --exec)");
  if (o->exec && (o->exec_process == NULL || o->exec_id == NULL))
    return tspod_fail (err, 0, NULL, "--exec needs --exec-process and --exec-id");
  if ((o->log_driver == MONITOR_LOG_K8S_FILE || o->log_driver == MONITOR_LOG_JSON_FILE
       || o->log_driver == MONITOR_LOG_LOCAL)
      && o->log_path == NULL)
    return tspod_fail (err, 0, NULL,
                       "--log-path is required with the k8s-file, json-file and local drivers");
  if (o->passthrough && o->terminal)
    return tspod_fail (err, 0, NULL, "--terminal cannot pass the caller's stdio through");
  return 0;
}

/* How many values each repeatable option has collected so far. */
struct list_lengths
{
  size_t runtime;
  size_t exit;
  size_t health;
  size_t release;
};

static int
parse_option (int opt, struct monitor_opts *o, struct list_lengths *n, struct tspod_error *err)
{
  long long value;

  switch (opt)
    {
    case OPT_CID: o->cid = optarg; return 0;
    case OPT_BUNDLE: o->bundle = optarg; return 0;
    case OPT_RUNTIME: o->runtime = optarg; return 0;
    case OPT_RUNTIME_ARG: return push_arg (&o->runtime_args, &n->runtime, optarg, err);
    case OPT_EXIT_DIR: o->exit_dir = optarg; return 0;
    case OPT_SOCKET_DIR: o->socket_dir = optarg; return 0;
    case OPT_LOG_DRIVER: return parse_log_driver (optarg, o, err);
    case OPT_LOG_PATH: o->log_path = optarg; return 0;
    case OPT_LOG_SIZE_MAX:
      return parse_number ("log-size-max", optarg, &o->log_size_max, err);
    case OPT_LOG_MAX_FILES:
      if (parse_number ("log-max-files", optarg, &value, err) < 0 || value > 1000)
        return tspod_fail (err, 0, NULL, "invalid --log-max-files: %s", optarg);
      o->log_max_files = (int) value;
      return 0;
    case OPT_LOG_COMPRESS: o->log_compress = 1; return 0;
    case OPT_TERMINAL: o->terminal = 1; return 0;
    case OPT_STDIN: o->stdin_open = 1; return 0;
    case OPT_PASSTHROUGH_FDS: o->passthrough = 1; return 0;
    case OPT_SYNC_FD:
      if (parse_number ("sync-fd", optarg, &value, err) < 0 || value < 0 || value > INT_MAX)
        return tspod_fail (err, 0, NULL, "invalid --sync-fd: %s", optarg);
      o->sync_fd = (int) value;
      return 0;
    case OPT_READY_FD:
      if (parse_number ("ready-fd", optarg, &value, err) < 0 || value < 3 || value > INT_MAX)
        return tspod_fail (err, 0, NULL, "invalid --ready-fd: %s", optarg);
      o->ready_fd = (int) value;
      return 0;
    case OPT_PIDFILE: o->pidfile = optarg; return 0;
    case OPT_CONTAINER_PIDFILE: o->container_pidfile = optarg; return 0;
    case OPT_EXIT_COMMAND: o->exit_command = optarg; return 0;
    case OPT_EXIT_COMMAND_ARG: return push_arg (&o->exit_command_args, &n->exit, optarg, err);
    case OPT_EXEC: o->exec = 1; return 0;
    case OPT_EXEC_PROCESS: o->exec_process = optarg; return 0;
    case OPT_EXEC_ID: o->exec_id = optarg; return 0;
    case OPT_EXEC_ATTACH: o->exec_attach = 1; return 0;
    case OPT_SYSLOG: o->syslog = 1; return 0;
    case OPT_LOG_LEVEL:
    case OPT_NO_NEW_KEYRING: return 0;
    case OPT_HEALTH_INTERVAL_MS:
      if (parse_number ("health-interval-ms", optarg, &o->health_interval_ms, err) < 0
          || o->health_interval_ms <= 0)
        return tspod_fail (err, 0, NULL, "invalid --health-interval-ms: %s", optarg);
      return 0;
    case OPT_HEALTH_COMMAND: o->health_command = optarg; return 0;
    case OPT_SDNOTIFY_PROXY: o->sdnotify_proxy = optarg; return 0;
    case OPT_SDNOTIFY_SOCKET: o->sdnotify_socket = optarg; return 0;
    case OPT_SYNC_START: o->sync_start = 1; return 0;
    case OPT_START_FIFO: o->start_fifo = optarg; return 0;
    case OPT_RELEASE_RUNTIME: o->release_runtime = 1; return 0;
    case OPT_RELEASE_MOUNT: return push_arg (&o->release_mounts, &n->release, optarg, err);
    case OPT_SYNC_SOCKET: o->sync_socket = optarg; return 0;
    case OPT_NAME: o->name = optarg; return 0;
    case OPT_LOG_TAG: o->log_tag = optarg; return 0;
    case OPT_JOURNAL_SOCKET: o->journal_socket = optarg; return 0;
    case OPT_HEALTH_COMMAND_ARG:
      return push_arg (&o->health_command_args, &n->health, optarg, err);
    default: return tspod_fail (err, 0, NULL, "unknown option (see the top of native/monitor.c)");
    }
}

int
monitor_parse_args (int argc, char **argv, struct monitor_opts *o, struct tspod_error *err)
{
  struct list_lengths lengths = { 0, 0, 0, 0 };
  int opt;

  opterr = 0;
  while ((opt = getopt_long (argc, argv, "", long_options, NULL)) != -1)
    if (parse_option (opt, o, &lengths, err) < 0)
      return -1;
  if (optind < argc)
    return tspod_fail (err, 0, NULL, "unexpected argument %s", argv[optind]);
  if (o->log_driver == MONITOR_LOG_PASSTHROUGH)
    o->passthrough = 1;
  if (terminate (&o->runtime_args, err) < 0 || terminate (&o->exit_command_args, err) < 0
      || terminate (&o->health_command_args, err) < 0 || terminate (&o->release_mounts, err) < 0)
    return -1;
  if (check_required (o, err) < 0 || absolute_paths (o, err) < 0)
    return -1;
  return default_container_pidfile (o, err);
}
