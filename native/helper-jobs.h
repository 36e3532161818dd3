/* The helper server's requests as jobs (helper-jobs.c), each in a child of the server, several
 * at once; helper-server.c reads the requests and answers them in order. */
#ifndef TSPOD_HELPER_JOBS_H
#define TSPOD_HELPER_JOBS_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

struct helper_output
{
  char *data;
  size_t len;
};

/* A job's descriptors, -1 once closed: the child's stdout and stderr pipes, its pidfd, and for
 * a program started with @start the pipe it signals readiness on (its fd 3). */
enum { JOB_OUT, JOB_ERR, JOB_PID, JOB_READY, JOB_FDS };

struct helper_job
{
  pid_t pid;
  int fds[JOB_FDS];
  int status;   /* the answer's exit status; -1 until the job is done */
  int detached; /* @start: done when the program is ready, which then runs on */
  struct helper_output out;
  struct helper_output err;
};

/* Starts the request REQ (LEN bytes: CWD \0 VERB \0 ARG \0 ...) as JOB. A job that cannot run
 * is done at once with status 125. */
void helper_job_start (struct helper_job *job, char *req, size_t len);

/* Whether JOB's descriptor WHICH is to be polled now. */
int helper_job_polls (const struct helper_job *job, int which);

/* JOB's descriptor WHICH is readable. */
void helper_job_ready (struct helper_job *job, int which);

void helper_job_free (struct helper_job *job);

/* Shared by helper-jobs.c and helper-detached.c. */
void helper_set_message (struct helper_output *out, const char *text);
/* Appends what *FD has to OUT; closes it (and sets -1) at its end. */
void helper_collect (int *fd, struct helper_output *out);
void helper_close_fd (int *fd);
/* The child's exit status into JOB->status once it exited (BLOCKING: wait for it). */
void helper_reap_job (struct helper_job *job, int blocking);

/* helper-detached.c: @start's program PID runs on with STDIN_FD kept for @write. */
/* Programs @start started that the server keeps (their stdin until @write, their pidfd to reap
 * them): a container's monitor, slirp4netns and port forwarder each, while the server lives. */
#define HELPER_MAX_KEPT 64

int helper_keep_available (void);
void helper_keep (pid_t pid, int stdin_fd);
void helper_write_kept (struct helper_job *job, int argc, char **argv);
void helper_detached_event (struct helper_job *job, int which);

/* Programs started with @start run on after their answer: their pidfds, to be polled so that
 * an exited one is reaped (a zombie would look alive to whoever waits for it to be gone). */
size_t helper_kept_pollfds (struct pollfd *p, size_t max);
void helper_kept_ready (int pid_fd);

#endif
