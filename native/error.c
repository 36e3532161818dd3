#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
tspod_fail (struct tspod_error *err, int errnum, const char *hint, const char *fmt, ...)
{
  va_list ap;

  err->errnum = errnum;
  err->detail[0] = '\0';
  va_start (ap, fmt);
  vsnprintf (err->what, sizeof (err->what), fmt, ap);
  va_end (ap);
  snprintf (err->hint, sizeof (err->hint), "%s", hint != NULL ? hint : "");
  return -1;
}

/* Keeps the detail on one line: the whole error must stay a single line of stderr. */
void
tspod_error_set_detail (struct tspod_error *err, const char *detail)
{
  size_t len;
  size_t i;

  snprintf (err->detail, sizeof (err->detail), "%s", detail);
  for (i = 0; err->detail[i] != '\0'; i++)
    if (err->detail[i] == '\n' || err->detail[i] == '\r' || err->detail[i] == '\t')
      err->detail[i] = ' ';
  len = strlen (err->detail);
  while (len > 0 && err->detail[len - 1] == ' ')
    err->detail[--len] = '\0';
}

void
tspod_error_exit (const struct tspod_error *err)
{
  const char *why = err->detail[0] != '\0' ? err->detail : NULL;

  if (why == NULL && err->errnum != 0)
    why = strerror (err->errnum);
  if (why != NULL && err->hint[0] != '\0')
    fprintf (stderr, "Error: %s: %s; %s\n", err->what, why, err->hint);
  else if (why != NULL)
    fprintf (stderr, "Error: %s: %s\n", err->what, why);
  else if (err->hint[0] != '\0')
    fprintf (stderr, "Error: %s; %s\n", err->what, err->hint);
  else
    fprintf (stderr, "Error: %s\n", err->what);
  exit (TSPOD_EXIT_FAILURE);
}

/* Same shape as the CLI's logrus-style warnings, so users see one format. */
void
tspod_warn (const char *fmt, ...)
{
  va_list ap;

  fputs ("WARN[0000] ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}
