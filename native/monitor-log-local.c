/* Records of Docker's `local` log driver, so its files hold what Docker's hold: each record is
 *   [size: u32 big-endian][LogEntry, protobuf][size: u32 big-endian]
 * with LogEntry { string source = 1; int64 time_nano = 2; bytes line = 3; bool partial = 4; }
 * (moby api/types/plugins/logdriver/entry.proto). The line is stored without its '\n'; a
 * record of a line longer than the writer's buffer, or cut by the exit, is partial. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "monitor.h"

enum
{
  TAG_SOURCE = 1 << 3 | 2,    /* field 1, length-delimited */
  TAG_TIME_NANO = 2 << 3 | 0, /* field 2, varint */
  TAG_LINE = 3 << 3 | 2,      /* field 3, length-delimited */
  TAG_PARTIAL = 4 << 3 | 0,   /* field 4, varint */
};

static size_t
varint (char *out, uint64_t v)
{
  size_t n = 0;

  do
    {
      unsigned char b = v & 0x7f;
      v >>= 7;
      out[n++] = (char) (v ? b | 0x80 : b);
    }
  while (v);
  return n;
}

static size_t
varint_len (uint64_t v)
{
  char tmp[10];
  return varint (tmp, v);
}

static const char *
source (int stream)
{
  return stream == FRAME_STDERR ? "stderr" : "stdout";
}

static uint32_t
message_size (int stream, long long time_ns, size_t line_len, int partial)
{
  size_t src = strlen (source (stream));
  return (uint32_t) (1 + 1 + src + 1 + varint_len ((uint64_t) time_ns) + 1 + varint_len (line_len)
                     + line_len + (partial ? 2 : 0));
}

static void
put_be32 (char *out, uint32_t v)
{
  out[0] = (char) (v >> 24);
  out[1] = (char) (v >> 16);
  out[2] = (char) (v >> 8);
  out[3] = (char) v;
}

size_t
local_record_head (char *head, int stream, long long time_ns, size_t line_len, int partial)
{
  const char *src = source (stream);
  size_t n = 4;

  put_be32 (head, message_size (stream, time_ns, line_len, partial));
  head[n++] = TAG_SOURCE;
  head[n++] = (char) strlen (src);
  memcpy (head + n, src, strlen (src));
  n += strlen (src);
  head[n++] = TAG_TIME_NANO;
  n += varint (head + n, (uint64_t) time_ns);
  head[n++] = TAG_LINE;
  n += varint (head + n, line_len);
  return n;
}

size_t
local_record_tail (char *tail, size_t line_len, int partial, int stream, long long time_ns)
{
  size_t n = 0;

  if (partial)
    {
      tail[n++] = TAG_PARTIAL;
      tail[n++] = 1;
    }
  put_be32 (tail + n, message_size (stream, time_ns, line_len, partial));
  return n + 4;
}
