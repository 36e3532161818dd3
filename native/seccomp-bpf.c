/* tspod-seccomp-bpf: compiles a container's seccomp filter into the raw BPF program that crun
 * takes in its run.oci.seccomp_bpf_data annotation, so that crun need not compile the profile
 * with libseccomp on every start (~20 ms). pkg/runtime/seccomp-bpf.ts runs it once per distinct
 * filter and caches the result.
 *
 * Input on stdin, one statement a line (pkg/runtime/seccomp-lines.ts writes it from the OCI
 * seccomp section; errno values are already resolved, EPERM where the spec gives none):
 *   default ACTION ERRNO            first line: the action for every syscall no rule matches
 *   arch SCMP_ARCH_NAME             an architecture to add to the filter
 *   rule ACTION ERRNO               starts a rule; the arg and name lines that follow belong to it
 *   arg INDEX SCMP_CMP_OP VALUE VALUE_TWO
 *   name SYSCALL                    adds the rule (with its args) for this syscall
 * Output on stdout: the program, as seccomp_export_bpf writes it.
 *
 * To give the program crun would build from the same section, it makes the same libseccomp calls
 * in the same order with the same meaning: rules whose action is the default one are dropped,
 * syscall names libseccomp does not know are skipped, and a rule that tests one argument twice
 * becomes one rule per condition. Exit 0, or 125 with one line on stderr (the caller then lets
 * crun compile the section itself). */
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

#define MAX_ARGS 6
#define MAX_WORDS 6

struct rule
{
  uint32_t action;
  int skip; /* the action is the default one: crun adds nothing for it */
  unsigned int nargs;
  struct scmp_arg_cmp args[MAX_ARGS];
};

struct compiler
{
  scmp_filter_ctx ctx;
  uint32_t default_action;
  int have_rule;
  struct rule rule;
  unsigned long line;
};

static int
parse_u64 (const char *text, uint64_t *out)
{
  char *end;

  if (text[0] < '0' || text[0] > '9')
    return -1;
  errno = 0;
  *out = strtoull (text, &end, 10);
  return errno != 0 || *end != '\0' ? -1 : 0;
}

struct named_value
{
  const char *name;
  uint32_t value;
};

static const struct named_value plain_actions[] = {
  { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
  { "SCMP_ACT_KILL", SCMP_ACT_KILL },
  { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
  { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
  { "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
  { "SCMP_ACT_LOG", SCMP_ACT_LOG },
  { NULL, 0 },
};

static const struct named_value operators[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE },
  { "SCMP_CMP_LT", SCMP_CMP_LT },
  { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ },
  { "SCMP_CMP_GE", SCMP_CMP_GE },
  { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  { NULL, 0 },
};

static int
lookup (const struct named_value *table, const char *name, uint32_t *out)
{
  for (; table->name != NULL; table++)
    if (strcmp (name, table->name) == 0)
      {
        *out = table->value;
        return 0;
      }
  return -1;
}

/* ACTION and its errno (used by ERRNO and TRACE only) as libseccomp encodes them. */
static int
parse_action (struct compiler *c, const char *name, const char *errno_text, uint32_t *out,
              struct tspod_error *err)
{
  uint64_t errno_value;

  if (parse_u64 (errno_text, &errno_value) < 0 || errno_value > UINT32_MAX)
    return tspod_fail (err, 0, NULL, "line %lu: invalid errno %s", c->line, errno_text);
  if (strcmp (name, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO ((uint32_t) errno_value);
  else if (strcmp (name, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE ((uint32_t) errno_value);
  else if (lookup (plain_actions, name, out) < 0)
    return tspod_fail (err, 0, NULL, "line %lu: unsupported action %s", c->line, name);
  return 0;
}

static int
start_filter (struct compiler *c, const char *action, const char *errno_text,
              struct tspod_error *err)
{
  if (c->ctx != NULL)
    return tspod_fail (err, 0, NULL, "line %lu: a second default line", c->line);
  if (parse_action (c, action, errno_text, &c->default_action, err) < 0)
    return -1;
  c->ctx = seccomp_init (c->default_action);
  if (c->ctx == NULL)
    return tspod_fail (err, 0, NULL, "line %lu: seccomp_init refused action %s", c->line, action);
  return 0;
}

/* crun takes "SCMP_ARCH_X86_64" as libseccomp's "x86_64". */
static int
add_arch (struct compiler *c, const char *name, struct tspod_error *err)
{
  char lower[32];
  const char *p = strncmp (name, "SCMP_ARCH_", 10) == 0 ? name + 10 : name;
  uint32_t token;
  size_t i;
  int ret;

  for (i = 0; p[i] != '\0' && i < sizeof (lower) - 1; i++)
    lower[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char) (p[i] - 'A' + 'a') : p[i];
  lower[i] = '\0';
  token = seccomp_arch_resolve_name (lower);
  if (token == 0)
    return tspod_fail (err, 0, NULL, "line %lu: unknown architecture %s", c->line, name);
  ret = seccomp_arch_add (c->ctx, token);
  if (ret < 0 && ret != -EEXIST)
    return tspod_fail (err, -ret, NULL, "line %lu: cannot add architecture %s", c->line, name);
  return 0;
}

static int
start_rule (struct compiler *c, const char *action, const char *errno_text,
            struct tspod_error *err)
{
  memset (&c->rule, 0, sizeof (c->rule));
  if (parse_action (c, action, errno_text, &c->rule.action, err) < 0)
    return -1;
  c->rule.skip = c->rule.action == c->default_action;
  c->have_rule = 1;
  return 0;
}

static int
add_arg (struct compiler *c, char **words, struct tspod_error *err)
{
  struct scmp_arg_cmp *cmp;
  uint64_t index;
  uint32_t op;

  if (c->rule.nargs == MAX_ARGS)
    return 0; /* crun looks at the first six conditions only */
  cmp = &c->rule.args[c->rule.nargs];
  if (parse_u64 (words[1], &index) < 0 || index >= MAX_ARGS)
    return tspod_fail (err, 0, NULL, "line %lu: invalid argument index %s", c->line, words[1]);
  cmp->arg = (unsigned int) index;
  if (lookup (operators, words[2], &op) < 0)
    return tspod_fail (err, 0, NULL, "line %lu: unknown operator %s", c->line, words[2]);
  cmp->op = (enum scmp_compare) op;
  if (parse_u64 (words[3], &cmp->datum_a) < 0 || parse_u64 (words[4], &cmp->datum_b) < 0)
    return tspod_fail (err, 0, NULL, "line %lu: invalid argument value", c->line);
  c->rule.nargs++;
  return 0;
}

static int
rule_tests_an_arg_twice (const struct rule *r)
{
  unsigned int seen[MAX_ARGS] = { 0 };
  unsigned int i;

  for (i = 0; i < r->nargs; i++)
    if (++seen[r->args[i].arg] > 1)
      return 1;
  return 0;
}

static int
add_syscall (struct compiler *c, const char *name, struct tspod_error *err)
{
  const struct rule *r = &c->rule;
  unsigned int i;
  int nr;
  int ret;

  if (r->skip)
    return 0;
  nr = seccomp_syscall_resolve_name (name);
  if (nr == __NR_SCMP_ERROR)
    return 0; /* a syscall this libseccomp does not know: crun skips it too */
  if (r->nargs == 0 || !rule_tests_an_arg_twice (r))
    ret = seccomp_rule_add_array (c->ctx, r->action, nr, r->nargs, r->args);
  else
    for (i = 0, ret = 0; i < r->nargs && ret == 0; i++)
      ret = seccomp_rule_add_array (c->ctx, r->action, nr, 1, &r->args[i]);
  if (ret < 0)
    return tspod_fail (err, -ret, NULL, "line %lu: cannot add the rule for %s", c->line, name);
  return 0;
}

/* Splits LINE at spaces into at most MAX_WORDS words; returns how many. */
static int
split_words (char *line, char **words)
{
  char *save = NULL;
  char *w;
  int n = 0;

  for (w = strtok_r (line, " \n", &save); w != NULL && n < MAX_WORDS; w = strtok_r (NULL, " \n", &save))
    words[n++] = w;
  return w != NULL ? MAX_WORDS + 1 : n;
}

static int
compile_line (struct compiler *c, char *line, struct tspod_error *err)
{
  char *words[MAX_WORDS];
  int n = split_words (line, words);

  if (n == 0)
    return 0;
  if (c->ctx == NULL && !(n == 3 && strcmp (words[0], "default") == 0))
    return tspod_fail (err, 0, NULL, "line %lu: the first line must be: default ACTION ERRNO", c->line);
  if (n == 3 && strcmp (words[0], "default") == 0)
    return start_filter (c, words[1], words[2], err);
  if (n == 2 && strcmp (words[0], "arch") == 0)
    return add_arch (c, words[1], err);
  if (n == 3 && strcmp (words[0], "rule") == 0)
    return start_rule (c, words[1], words[2], err);
  if (n == 5 && strcmp (words[0], "arg") == 0 && c->have_rule)
    return add_arg (c, words, err);
  if (n == 2 && strcmp (words[0], "name") == 0 && c->have_rule)
    return add_syscall (c, words[1], err);
  return tspod_fail (err, 0, NULL, "line %lu: cannot parse \"%s\"", c->line, words[0]);
}

static int
compile (FILE *in, struct compiler *c, struct tspod_error *err)
{
  char *line = NULL;
  size_t size = 0;
  int ret = 0;

  while (ret == 0 && getline (&line, &size, in) >= 0)
    {
      c->line++;
      ret = compile_line (c, line, err);
    }
  if (ret == 0 && ferror (in))
    ret = tspod_fail (err, errno, NULL, "cannot read the profile from stdin");
  free (line);
  if (ret == 0 && c->ctx == NULL)
    ret = tspod_fail (err, 0, NULL, "the profile is empty");
  return ret;
}

int
main (int argc, char **argv)
{
  struct compiler c;
  struct tspod_error err;
  int ret;

  (void) argv;
  if (argc != 1)
    {
      fprintf (stderr, "usage: tspod-seccomp-bpf < PROFILE-LINES > PROGRAM\n");
      return TSPOD_EXIT_FAILURE;
    }
  memset (&c, 0, sizeof (c));
  ret = compile (stdin, &c, &err);
  if (ret == 0)
    {
      ret = seccomp_export_bpf (c.ctx, STDOUT_FILENO);
      if (ret < 0)
        ret = tspod_fail (&err, -ret, NULL, "cannot write the BPF program");
    }
  if (c.ctx != NULL)
    seccomp_release (c.ctx);
  if (ret < 0)
    tspod_error_exit (&err);
  return 0;
}
