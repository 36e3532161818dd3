/* One way to report a failure: every function that can fail fills a struct tspod_error and
 * returns -1; main() prints it once as "Error: <what>: <why>; <what to do>" and exits 125. */
#ifndef TSPOD_ERROR_H
#define TSPOD_ERROR_H

#define TSPOD_EXIT_FAILURE 125

struct tspod_error
{
  int errnum;        /* errno of the failed call, 0 when there is none */
  char what[1024];   /* what failed: "cannot open /proc/42/ns/user" */
  char detail[1024]; /* shown instead of strerror(errnum) when set, e.g. newuidmap's own stderr */
  char hint[512];    /* what the user can do about it */
};

int tspod_fail (struct tspod_error *err, int errnum, const char *hint, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
void tspod_error_set_detail (struct tspod_error *err, const char *detail);
void tspod_error_exit (const struct tspod_error *err) __attribute__ ((noreturn));
void tspod_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
