/* The health check timer of a monitor that has no systemd to schedule checks: it runs
 * `tspod healthcheck run ID` (--health-command and its args) --health-interval-ms after the
 * container started, and again that long after each check ended, like a systemd timer with
 * OnUnitInactiveSec=. One check at a time; none once the container has exited. A check is a
 * child in a session of its own: a check that restarts the container outlives this monitor. */
#include <unistd.h>

#include "monitor.h"

void
health_timer_init (struct health_timer *t, const struct monitor_opts *o)
{
  t->pid = 0;
  t->next = -1;
  if (o->health_command != NULL && o->health_interval_ms > 0)
    t->next = monitor_now_ms () + o->health_interval_ms;
}

int64_t
health_timer_deadline (const struct health_timer *t)
{
  return t->next;
}

void
health_timer_tick (struct health_timer *t, const struct monitor_opts *o)
{
  struct tspod_error err;

  if (t->next < 0 || monitor_now_ms () < t->next)
    return;
  t->next = -1;
  if (monitor_spawn (o->health_command, o->health_command_args, &t->pid, &err) < 0)
    {
      monitor_report (o, &err);
      t->pid = 0;
      t->next = monitor_now_ms () + o->health_interval_ms;
    }
}

void
health_timer_reaped (struct health_timer *t, const struct monitor_opts *o, pid_t pid)
{
  if (pid <= 0 || pid != t->pid)
    return;
  t->pid = 0;
  t->next = monitor_now_ms () + o->health_interval_ms;
}

void
health_timer_stop (struct health_timer *t)
{
  t->next = -1;
}
