// The parsed shape of a Dockerfile: the contract between the front end (parser, variable
// expansion, context) and the build executor. Instructions are kept close to the text
// (words not yet expanded) because expansion depends on the ARG/ENV state the executor
// builds up step by step, exactly as Docker does it.

export interface Dockerfile {
  path: string;
  /** The escape character: `\` unless a `# escape=` directive says `` ` ``. */
  escape: string;
  /** The `# syntax=` directive, when present (informational: tspod has one built-in front end). */
  syntax?: string;
  /** ARGs before the first FROM: visible to FROM lines only (and redeclared ARGs in stages). */
  globalArgs: Instruction[];
  stages: Stage[];
  /** Things Docker accepts but warns about (empty continuation lines, legacy `ENV a b`, ...). */
  warnings?: { line: number; message: string }[];
}

export interface Stage {
  index: number;
  /** `AS name`, lower-cased. */
  name?: string;
  from: Instruction;
  /** Every instruction after FROM, up to the next FROM. */
  instructions: Instruction[];
}

export interface Heredoc {
  /** The delimiter with its quotes removed. */
  name: string;
  /**
   * The body, each line ending in "\n". With `<<-` the leading tabs are already stripped
   * from every line (chomp tells that it happened).
   */
  content: string;
  /** False when the delimiter was quoted (`<<'EOF'`, `<<"EOF"`): no variable expansion in the body. */
  expand: boolean;
  chomp: boolean;
}

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ... */
  keyword: string;
  /** 1-based first line in the file. */
  line: number;
  /** The instruction as written, continuations joined (for errors and history). */
  original: string;
  /** --from=x, --chown=..., --mount=... (repeatable), in order. A bare boolean flag (--link) has value "true". */
  flags: { name: string; value: string }[];
  /**
   * exec: a JSON array; shell: one command string; words: plain words.
   * RUN/CMD/ENTRYPOINT: exec or shell. SHELL: always exec. COPY/ADD/VOLUME: exec or words.
   * HEALTHCHECK: args[0] is the type (CMD or NONE), the rest is the command in `form`
   * (NONE has form words and no further args).
   */
  form: 'exec' | 'shell' | 'words';
  /**
   * exec: the array; shell: [command string]; words: the words, NOT yet expanded.
   * ENV, LABEL and ARG hold one `key=value` word per pair (the legacy `ENV key value`
   * becomes `key=value`; an ARG without default is just `name`).
   * MAINTAINER, USER, WORKDIR, STOPSIGNAL hold their whole argument as one word.
   */
  args: string[];
  heredocs: Heredoc[];
  /** ONBUILD's inner instruction. */
  onbuild?: Instruction;
}
