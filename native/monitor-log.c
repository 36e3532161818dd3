/* Container log writers.
 *   k8s-file   (Podman, CRI): 2024-01-02T03:04:05.123456789Z stdout F text
 *              F ends a line; P is a piece of a line longer than LINE_MAX, or the unterminated
 *              tail the container left at exit.
 *   json-file  (Docker): {"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123Z"}
 *              escaped as Go's encoding/json does (<, > and & as \u003c..., invalid UTF-8 as
 *              \ufffd), time in RFC 3339 with trailing zeros of the fraction dropped.
 * A line is buffered until its newline (or LINE_MAX bytes), as Docker's log copier does;
 * attach clients get output immediately, not through here.
 *   local      (Docker): binary records, see monitor-log-local.c.
 *   journald   one journal entry per line or piece, see monitor-log-journald.c; no file.
 * Rotation (all formats, as Docker's max-size/max-file): before a record, when FILE has
 * reached --log-size-max, FILE.N-2 .. FILE.1 move up one, FILE becomes FILE.1 and a new FILE is
 * started; with --log-max-files <= 1, FILE is truncated instead. With --log-compress the
 * rotated files are FILE.1.gz .. FILE.N-1.gz (monitor-log-gzip.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "monitor.h"

#define LINE_MAX_BYTES (16 * 1024)
#define OUT_CAP (16 * 1024)

struct partial_line
{
  char *data; /* LINE_MAX_BYTES, allocated on first use */
  size_t len;
};

struct log_writer
{
  enum monitor_log_driver driver;
  const char *path;
  int fd;
  long long size;
  long long max_size;
  int max_files;
  int compress;
  struct partial_line partial[2]; /* stdout, stderr */
  char *out;                      /* records waiting for one write(); OUT_CAP */
  size_t out_len;
  char stamp[40];                 /* of the current write */
  long long stamp_ns;             /* the same, in nanoseconds since the epoch (local) */
  struct journal_sink *journal;   /* journald instead of a file */
};

static int
log_enabled (const struct log_writer *w)
{
  return w->driver == MONITOR_LOG_K8S_FILE || w->driver == MONITOR_LOG_JSON_FILE
         || w->driver == MONITOR_LOG_LOCAL || w->driver == MONITOR_LOG_JOURNALD;
}

/* The file is open, or the journal writer is set up. */
static int
log_ready (const struct log_writer *w)
{
  return log_enabled (w) && (w->fd >= 0 || w->journal != NULL);
}

static int
open_log (struct log_writer *w, struct tspod_error *err)
{
  struct stat st;

  w->fd = open (w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (w->fd < 0)
    return tspod_fail (err, errno, NULL, "cannot open the log file %s", w->path);
  if (fstat (w->fd, &st) < 0)
    return tspod_fail (err, errno, NULL, "cannot stat %s", w->path);
  w->size = st.st_size;
  return 0;
}

struct log_writer *
log_writer_new (const struct monitor_opts *o, struct tspod_error *err)
{
  struct log_writer *w = calloc (1, sizeof (*w));

  if (w == NULL)
    {
      tspod_fail (err, errno, NULL, "cannot allocate memory");
      return NULL;
    }
  w->driver = o->log_driver;
  w->path = o->log_path;
  w->fd = -1;
  w->max_size = o->log_size_max;
  w->max_files = o->log_max_files;
  w->compress = o->log_compress;
  if (w->driver == MONITOR_LOG_JOURNALD)
    {
      w->max_size = -1;
      if ((w->journal = journal_sink_new (o, err)) == NULL)
        {
          free (w);
          return NULL;
        }
      return w;
    }
  if (log_enabled (w) && ((w->out = malloc (OUT_CAP)) == NULL || open_log (w, err) < 0))
    {
      if (w->out == NULL)
        tspod_fail (err, errno, NULL, "cannot allocate memory");
      free (w->out);
      free (w);
      return NULL;
    }
  return w;
}

/* ---------------------------------------------------------------- output and rotation ----- */

static int
flush_out (struct log_writer *w, struct tspod_error *err)
{
  if (w->out_len == 0)
    return 0;
  if (tspod_write_all (w->fd, w->out, w->out_len) < 0)
    {
      w->out_len = 0;
      return tspod_fail (err, errno, NULL, "cannot write the log file %s", w->path);
    }
  w->size += (long long) w->out_len;
  w->out_len = 0;
  return 0;
}

static int
append (struct log_writer *w, const char *data, size_t len, struct tspod_error *err)
{
  while (len > 0)
    {
      size_t take = OUT_CAP - w->out_len < len ? OUT_CAP - w->out_len : len;
      memcpy (w->out + w->out_len, data, take);
      w->out_len += take;
      data += take, len -= take;
      if (w->out_len == OUT_CAP && flush_out (w, err) < 0)
        return -1;
    }
  return 0;
}

static int
rename_if_exists (const char *from, const char *to, struct tspod_error *err)
{
  if (rename (from, to) < 0 && errno != ENOENT)
    return tspod_fail (err, errno, NULL, "cannot rename %s to %s", from, to);
  return 0;
}

static int
rotate (struct log_writer *w, struct tspod_error *err)
{
  const char *ext = w->compress ? ".gz" : "";
  char from[PATH_MAX];
  char to[PATH_MAX];
  int i;

  if (w->max_files <= 1)
    {
      if (ftruncate (w->fd, 0) < 0)
        return tspod_fail (err, errno, NULL, "cannot truncate %s", w->path);
      w->size = 0;
      return 0;
    }
  for (i = w->max_files - 1; i >= 2; i--)
    {
      snprintf (from, sizeof (from), "%s.%d%s", w->path, i - 1, ext);
      snprintf (to, sizeof (to), "%s.%d%s", w->path, i, ext);
      if (rename_if_exists (from, to, err) < 0)
        return -1;
    }
  snprintf (from, sizeof (from), "%s.1", w->path);
  if (rename_if_exists (w->path, from, err) < 0)
    return -1;
  if (close (w->fd) < 0)
    {
      w->fd = -1;
      return tspod_fail (err, errno, NULL, "cannot close %s", w->path);
    }
  if (open_log (w, err) < 0)
    return -1;
  snprintf (to, sizeof (to), "%s.1.gz", w->path);
  return w->compress ? log_gzip_file (from, to, err) : 0;
}

static int
rotate_if_needed (struct log_writer *w, struct tspod_error *err)
{
  if (w->max_size <= 0 || w->size + (long long) w->out_len < w->max_size)
    return 0;
  if (flush_out (w, err) < 0)
    return -1;
  return rotate (w, err);
}

/* ---------------------------------------------------------------- records ----------------- */

/* UTC, nanoseconds; json-file trims trailing zeros of the fraction as Go's RFC3339Nano does. */
static void
make_stamp (struct log_writer *w)
{
  struct timespec ts;
  struct tm tm;
  size_t len;

  clock_gettime (CLOCK_REALTIME, &ts);
  w->stamp_ns = (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
  gmtime_r (&ts.tv_sec, &tm);
  len = (size_t) snprintf (w->stamp, sizeof (w->stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%09ld",
                           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                           tm.tm_sec, ts.tv_nsec);
  if (w->driver == MONITOR_LOG_JSON_FILE)
    {
      while (w->stamp[len - 1] == '0')
        len--;
      if (w->stamp[len - 1] == '.')
        len--;
    }
  w->stamp[len] = 'Z';
  w->stamp[len + 1] = '\0';
}

static const char *
stream_name (int stream)
{
  return stream == FRAME_STDERR ? "stderr" : "stdout";
}

/* Length of the valid UTF-8 sequence at S, 0 when it is not one. */
static size_t
utf8_sequence (const unsigned char *s, size_t n)
{
  unsigned cp;
  unsigned min;
  size_t need;
  size_t i;

  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    need = 2, cp = s[0] & 0x1fu, min = 0x80;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    need = 3, cp = s[0] & 0x0fu, min = 0x800;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    need = 4, cp = s[0] & 0x07u, min = 0x10000;
  else
    return 0;
  if (n < need)
    return 0;
  for (i = 1; i < need; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i] & 0x3fu);
    }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return need;
}

/* The escape for one byte or sequence at S, NULL when it goes through as it is. */
static const char *
json_escape_at (const unsigned char *s, size_t n, size_t *consumed, char *tmp)
{
  static const char hex[] = "0123456789abcdef";
  size_t seq;

  *consumed = 1;
  switch (s[0])
    {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '<': return "\\u003c";
    case '>': return "\\u003e";
    case '&': return "\\u0026";
    default: break;
    }
  if (s[0] < 0x20)
    {
      snprintf (tmp, 8, "\\u00%c%c", hex[s[0] >> 4], hex[s[0] & 0xf]);
      return tmp;
    }
  if (s[0] < 0x80)
    return NULL;
  seq = utf8_sequence (s, n);
  if (seq == 0)
    return "\\ufffd";
  *consumed = seq;
  if (seq == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
    return s[2] == 0xa8 ? "\\u2028" : "\\u2029";
  return NULL;
}

static int
append_json_string (struct log_writer *w, const char *data, size_t len, struct tspod_error *err)
{
  const unsigned char *s = (const unsigned char *) data;
  size_t plain = 0; /* bytes before s[i] not yet appended */
  size_t i = 0;
  char tmp[8];

  while (i < len)
    {
      size_t consumed;
      const char *esc = json_escape_at (s + i, len - i, &consumed, tmp);
      if (esc == NULL)
        {
          i += consumed;
          continue;
        }
      if (append (w, data + plain, i - plain, err) < 0 || append (w, esc, strlen (esc), err) < 0)
        return -1;
      i += consumed;
      plain = i;
    }
  return append (w, data + plain, len - plain, err);
}

/* One record. DATA ends with its '\n' when COMPLETE (json keeps it, k8s-file drops it). */
static int
emit (struct log_writer *w, int stream, const char *data, size_t len, int complete,
      struct tspod_error *err)
{
  char head[96];
  int n;

  if (w->journal != NULL)
    return journal_sink_send (w->journal, stream, data, complete ? len - 1 : len, ! complete, err);
  if (rotate_if_needed (w, err) < 0)
    return -1;
  if (w->driver == MONITOR_LOG_K8S_FILE)
    {
      n = snprintf (head, sizeof (head), "%s %s %c ", w->stamp, stream_name (stream),
                    complete ? 'F' : 'P');
      if (complete)
        len--;
      if (append (w, head, (size_t) n, err) < 0 || append (w, data, len, err) < 0)
        return -1;
      return append (w, "\n", 1, err);
    }
  if (w->driver == MONITOR_LOG_LOCAL)
    {
      char tail[LOCAL_TAIL_MAX];
      size_t line = complete ? len - 1 : len;
      size_t head_len = local_record_head (head, stream, w->stamp_ns, line, ! complete);
      size_t tail_len = local_record_tail (tail, line, ! complete, stream, w->stamp_ns);
      if (append (w, head, head_len, err) < 0 || append (w, data, line, err) < 0)
        return -1;
      return append (w, tail, tail_len, err);
    }
  if (append (w, "{\"log\":\"", 8, err) < 0 || append_json_string (w, data, len, err) < 0)
    return -1;
  n = snprintf (head, sizeof (head), "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                stream_name (stream), w->stamp);
  return append (w, head, (size_t) n, err);
}

/* ---------------------------------------------------------------- line assembly ----------- */

/* Adds a piece of a line; ENDS_LINE when it holds the line's '\n' (at its end). */
static int
add_piece (struct log_writer *w, int stream, const char *data, size_t len, int ends_line,
           struct tspod_error *err)
{
  struct partial_line *p = &w->partial[stream == FRAME_STDERR];

  if (p->len == 0 && ends_line && len <= LINE_MAX_BYTES)
    return emit (w, stream, data, len, 1, err);
  if (p->data == NULL && (p->data = malloc (LINE_MAX_BYTES)) == NULL)
    return tspod_fail (err, errno, NULL, "cannot allocate memory");
  while (len > 0)
    {
      size_t take = LINE_MAX_BYTES - p->len < len ? LINE_MAX_BYTES - p->len : len;
      memcpy (p->data + p->len, data, take);
      p->len += take;
      data += take, len -= take;
      if (p->len == LINE_MAX_BYTES && (len > 0 || ! ends_line))
        {
          p->len = 0;
          if (emit (w, stream, p->data, LINE_MAX_BYTES, 0, err) < 0)
            return -1;
        }
    }
  if (ends_line)
    {
      size_t full = p->len;
      p->len = 0;
      return emit (w, stream, p->data, full, 1, err);
    }
  return 0;
}

int
log_writer_write (struct log_writer *w, int stream, const char *data, size_t len,
                  struct tspod_error *err)
{
  int ret = 0;

  if (! log_ready (w))
    return 0;
  make_stamp (w);
  while (len > 0 && ret == 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t piece = nl != NULL ? (size_t) (nl - data) + 1 : len;
      ret = add_piece (w, stream, data, piece, nl != NULL, err);
      data += piece, len -= piece;
    }
  if (ret == 0)
    return flush_out (w, err);
  w->out_len = 0;
  return ret;
}

int
log_writer_close (struct log_writer *w, struct tspod_error *err)
{
  int ret = 0;
  int i;

  if (log_ready (w))
    {
      make_stamp (w);
      for (i = 0; i < 2; i++)
        if (w->partial[i].len > 0 && ret == 0)
          ret = emit (w, i == 0 ? FRAME_STDOUT : FRAME_STDERR, w->partial[i].data,
                      w->partial[i].len, 0, err);
      if (ret == 0)
        ret = flush_out (w, err);
      journal_sink_close (w->journal);
      if (w->fd >= 0 && close (w->fd) < 0 && ret == 0)
        ret = tspod_fail (err, errno, NULL, "cannot close the log file %s", w->path);
    }
  for (i = 0; i < 2; i++)
    free (w->partial[i].data);
  free (w->out);
  free (w);
  return ret;
}
