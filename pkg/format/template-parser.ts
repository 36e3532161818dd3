/**
 * Lexer and parser for Go `text/template` syntax, producing a small AST that
 * `go-template.ts` evaluates. The structure deliberately mirrors Go's
 * text/template/parse package (same token kinds, same parse functions, same
 * error wording) so that templates written for Docker/Podman `--format`
 * behave — and fail — the way their authors expect.
 *
 * Not supported: `define`, `template`, `block`, custom delimiters, complex
 * and hex-float number literals.
 */

/** A parse or execution error; the message is one line starting `template: `. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

// ---------------------------------------------------------------------------
// AST

export interface ListNode { type: 'list'; pos: number; nodes: Node[] }
export interface TextNode { type: 'text'; pos: number; text: string }
export interface ActionNode { type: 'action'; pos: number; pipe: PipeNode }
export interface BranchNode {
  type: 'if' | 'range' | 'with';
  pos: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface LoopControlNode { type: 'break' | 'continue'; pos: number }
export type Node = TextNode | ActionNode | BranchNode | LoopControlNode;

/** A pipeline: optional variable declarations, then `cmd | cmd | ...`. */
export interface PipeNode {
  type: 'pipe';
  pos: number;
  isAssign: boolean;
  decl: string[];
  cmds: CommandNode[];
}
export interface CommandNode { type: 'command'; pos: number; args: ArgNode[] }
/** `.A.B` — idents are ['A', 'B']; `.` alone is a DotNode. */
export interface FieldNode { type: 'field'; pos: number; idents: string[] }
/** `$x.A` — idents are ['$x', 'A']. */
export interface VariableNode { type: 'variable'; pos: number; idents: string[] }
/** A field chain on a non-field term, e.g. `(index . 0).Name`. */
export interface ChainNode { type: 'chain'; pos: number; node: ArgNode; fields: string[] }
export interface IdentifierNode { type: 'identifier'; pos: number; name: string }
export interface DotNode { type: 'dot'; pos: number }
export interface NilNode { type: 'nil'; pos: number }
export interface BoolNode { type: 'bool'; pos: number; value: boolean }
export interface NumberNode { type: 'number'; pos: number; value: number; text: string }
export interface StringNode { type: 'string'; pos: number; value: string; text: string }
export type ArgNode =
  | FieldNode | VariableNode | ChainNode | IdentifierNode | DotNode
  | NilNode | BoolNode | NumberNode | StringNode | PipeNode;

/** Renders a node back to template syntax, for `at <...>` in error messages. */
export function nodeString(node: ArgNode | CommandNode): string {
  switch (node.type) {
    case 'field': return '.' + node.idents.join('.');
    case 'variable': return node.idents.join('.');
    case 'chain': {
      const inner = node.node.type === 'pipe' ? `(${nodeString(node.node)})` : nodeString(node.node);
      return inner + '.' + node.fields.join('.');
    }
    case 'identifier': return node.name;
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'bool': return String(node.value);
    case 'number': return node.text;
    case 'string': return node.text;
    case 'command':
      return node.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'pipe': {
      const decl = node.decl.length ? `${node.decl.join(', ')} ${node.isAssign ? '=' : ':='} ` : '';
      return decl + node.cmds.map(nodeString).join(' | ');
    }
  }
}

/** 1-based line of a source offset. */
export function lineOf(src: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src.charCodeAt(i) === 10) line++;
  return line;
}

// ---------------------------------------------------------------------------
// Lexer

type TokenKind =
  | 'text' | 'leftDelim' | 'rightDelim' | 'space' | 'identifier' | 'keyword'
  | 'field' | 'variable' | 'dot' | 'string' | 'rawString' | 'char' | 'number'
  | 'bool' | 'nil' | 'pipe' | 'leftParen' | 'rightParen' | 'declare' | 'assign'
  | 'comma' | 'eof';

interface Token { kind: TokenKind; value: string; pos: number }

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);
const ALNUM_RUN = /[\p{L}\p{Nd}_]*/uy;
const LETTER = /[\p{L}_]/u;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{Nd}_]/u.test(c);
}

/** Go's `%#U` rendering of a character, used in "bad character" errors. */
function describeRune(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

class Lexer {
  private readonly toks: Token[] = [];
  private pos = 0;
  private parenDepth = 0;

  constructor(private readonly src: string) {}

  run(): Token[] {
    while (this.pos < this.src.length) this.lexText();
    this.emit('eof', '', this.src.length);
    return this.toks;
  }

  private emit(kind: TokenKind, value: string, pos: number): void {
    this.toks.push({ kind, value, pos });
  }

  private fail(msg: string, pos: number): never {
    throw new TemplateError(`template: :${lineOf(this.src, pos)}: ${msg}`);
  }

  /** Emits text up to the next `{{`, honouring a `{{- ` trim marker. */
  private lexText(): void {
    const { src } = this;
    const open = src.indexOf('{{', this.pos);
    const trimLeft = open >= 0 && src[open + 2] === '-' && isSpace(src[open + 3]);
    let textEnd = open < 0 ? src.length : open;
    if (trimLeft) while (textEnd > this.pos && isSpace(src[textEnd - 1])) textEnd--;
    if (textEnd > this.pos) this.emit('text', src.slice(this.pos, textEnd), this.pos);
    if (open < 0) {
      this.pos = src.length;
      return;
    }
    const inner = open + 2 + (trimLeft ? 2 : 0);
    if (src.startsWith('/*', inner)) {
      this.lexComment(open, inner);
      return;
    }
    this.emit('leftDelim', '{{', open);
    this.pos = inner;
    this.lexInsideAction(open);
  }

  /** Comments must fill the whole action: `{{/* ... *\/}}`. They produce no token. */
  private lexComment(start: number, inner: number): void {
    const close = this.src.indexOf('*/', inner + 2);
    if (close < 0) this.fail('unclosed comment', start);
    let p = close + 2;
    const trimRight = isSpace(this.src[p]) && this.src.startsWith('-}}', p + 1);
    if (trimRight) p += 2;
    if (!this.src.startsWith('}}', p)) this.fail('comment ends before closing delimiter', start);
    this.pos = p + 2;
    if (trimRight) this.skipSpaces();
  }

  private skipSpaces(): void {
    while (isSpace(this.src[this.pos])) this.pos++;
  }

  private lexInsideAction(start: number): void {
    const { src } = this;
    for (;;) {
      if (this.pos >= src.length) this.fail('unclosed action', start);
      if (src.startsWith('}}', this.pos)) {
        this.closeAction(2, false);
        return;
      }
      const c = src[this.pos];
      if (isSpace(c)) {
        const from = this.pos;
        this.skipSpaces();
        // " -}}" closes the action and trims the whitespace that follows it.
        if (src.startsWith('-}}', this.pos)) {
          this.closeAction(3, true);
          return;
        }
        this.emit('space', src.slice(from, this.pos), from);
        continue;
      }
      this.lexActionToken(c);
    }
  }

  private closeAction(delimLen: number, trimRight: boolean): void {
    if (this.parenDepth > 0) this.fail('unclosed left paren', this.pos);
    this.emit('rightDelim', '}}', this.pos);
    this.pos += delimLen;
    if (trimRight) this.skipSpaces();
  }

  private lexActionToken(c: string): void {
    const single: Record<string, TokenKind> = { '|': 'pipe', ',': 'comma', '=': 'assign', '(': 'leftParen', ')': 'rightParen' };
    const kind = single[c];
    if (kind) {
      if (c === '(') this.parenDepth++;
      if (c === ')' && --this.parenDepth < 0) this.fail('unexpected right paren', this.pos);
      this.emit(kind, c, this.pos++);
      return;
    }
    switch (c) {
      case ':':
        if (this.src[this.pos + 1] !== '=') this.fail('expected :=', this.pos);
        this.emit('declare', ':=', this.pos);
        this.pos += 2;
        return;
      case '"': return this.lexQuoted('"', 'string', 'unterminated quoted string');
      case "'": return this.lexQuoted("'", 'char', 'unterminated character constant');
      case '`': return this.lexRawString();
      case '$': return this.lexFieldOrVariable('variable');
      case '.':
        if (isDigit(this.src[this.pos + 1])) return this.lexNumber();
        return this.lexFieldOrVariable('field');
    }
    if (c === '+' || c === '-' || isDigit(c)) return this.lexNumber();
    if (LETTER.test(c)) return this.lexIdentifier();
    this.fail(`bad character ${describeRune(String.fromCodePoint(this.src.codePointAt(this.pos) ?? 0))}`, this.pos);
  }

  private scanAlnum(from: number): string {
    ALNUM_RUN.lastIndex = from;
    return ALNUM_RUN.exec(this.src)?.[0] ?? '';
  }

  /** Go requires fields, variables and identifiers to end at a "terminator". */
  private checkTerminator(): void {
    const c = this.src[this.pos];
    if (c === undefined || isSpace(c) || '.,|:()'.includes(c) || this.src.startsWith('}}', this.pos)) return;
    this.fail(`bad character ${describeRune(c)}`, this.pos);
  }

  private lexFieldOrVariable(kind: 'field' | 'variable'): void {
    const start = this.pos;
    const name = this.scanAlnum(start + 1);
    this.pos = start + 1 + name.length;
    this.checkTerminator();
    if (name === '' && kind === 'field') this.emit('dot', '.', start);
    else this.emit(kind, this.src.slice(start, this.pos), start);
  }

  private lexIdentifier(): void {
    const start = this.pos;
    const word = this.scanAlnum(start);
    this.pos += word.length;
    this.checkTerminator();
    if (KEYWORDS.has(word)) this.emit('keyword', word, start);
    else if (word === 'true' || word === 'false') this.emit('bool', word, start);
    else if (word === 'nil') this.emit('nil', word, start);
    else this.emit('identifier', word, start);
  }

  /** Mirrors Go's scanNumber: sign, base prefix, digits, fraction, exponent. */
  private lexNumber(): void {
    const { src } = this;
    const start = this.pos;
    const accept = (chars: string): boolean => {
      if (this.pos < src.length && chars.includes(src[this.pos])) {
        this.pos++;
        return true;
      }
      return false;
    };
    const acceptRun = (chars: string): void => { while (accept(chars)) { /* consume */ } };
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (isAlnum(src[this.pos])) {
      this.pos++;
      this.fail(`bad number syntax: ${JSON.stringify(src.slice(start, this.pos))}`, start);
    }
    this.emit('number', src.slice(start, this.pos), start);
  }

  private lexQuoted(quote: string, kind: TokenKind, unterminated: string): void {
    const start = this.pos;
    let p = start + 1;
    for (;;) {
      const c = this.src[p];
      if (c === '\\') {
        p++;
        if (this.src[p] === undefined || this.src[p] === '\n') this.fail(unterminated, start);
      } else if (c === undefined || c === '\n') {
        this.fail(unterminated, start);
      } else if (c === quote) {
        break;
      }
      p++;
    }
    this.pos = p + 1;
    this.emit(kind, this.src.slice(start, this.pos), start);
  }

  private lexRawString(): void {
    const start = this.pos;
    const close = this.src.indexOf('`', start + 1);
    if (close < 0) this.fail('unterminated raw quoted string', start);
    this.pos = close + 1;
    this.emit('rawString', this.src.slice(start, this.pos), start);
  }
}

// ---------------------------------------------------------------------------
// Literal decoding (Go's strconv.Unquote / number parsing)

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };

/**
 * Decodes the body of a Go interpreted string or char literal. Go strings are
 * bytes, so `\xNN` escapes are collected as bytes and decoded as UTF-8 at the end.
 */
function unquote(body: string, quote: string): string {
  const bytes: number[] = [];
  const pushText = (s: string): void => { bytes.push(...Buffer.from(s, 'utf8')); };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      pushText(c);
      continue;
    }
    const e = body[++i];
    if (e in SIMPLE_ESCAPES) bytes.push(SIMPLE_ESCAPES[e]);
    else if (e === quote) pushText(e);
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/^[0-3][0-7]{2}$/.test(body.slice(i, i + 3))) {
      bytes.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else if ((e === 'u' || e === 'U') && /^[0-9a-fA-F]+$/.test(body.slice(i + 1, i + (e === 'u' ? 5 : 9)))) {
      const len = e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      const cp = parseInt(hex, 16);
      if (hex.length !== len || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new Error('invalid syntax');
      pushText(String.fromCodePoint(cp));
      i += len;
    } else {
      throw new Error('invalid syntax');
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses a Go number literal (or char constant) to a JS number. */
function parseNumberLiteral(text: string): number {
  const t = text.replace(/_/g, '');
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '');
  let m: RegExpMatchArray | null;
  if ((m = body.match(/^0[xX]([0-9a-fA-F]+)$/))) return sign * parseInt(m[1], 16);
  if ((m = body.match(/^0[bB]([01]+)$/))) return sign * parseInt(m[1], 2);
  if ((m = body.match(/^0[oO]?([0-7]+)$/))) return sign * parseInt(m[1], 8);
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) return sign * Number(body);
  if (body.endsWith('i')) throw new Error('complex numbers are not supported');
  throw new Error(`illegal number syntax: ${JSON.stringify(text)}`);
}

// ---------------------------------------------------------------------------
// Parser

/** Pseudo-nodes returned when an `{{end}}` or `{{else}}` closes a list. */
type EndMarker = { type: 'end'; pos: number } | { type: 'else'; pos: number };
type Parsed = Node | EndMarker;

function tokenString(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'keyword') return `<${t.value}>`;
  if (t.value.length > 10) return `${JSON.stringify(t.value.slice(0, 10))}...`;
  return JSON.stringify(t.value);
}

const OPERAND_START = new Set<TokenKind>([
  'bool', 'char', 'dot', 'field', 'identifier', 'number', 'nil', 'rawString', 'string', 'variable', 'leftParen',
]);

class Parser {
  private i = 0;
  private lastPos = 0;
  /** Variables in scope, for "undefined variable" checks; `$` is always defined. */
  private readonly vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(
    private readonly src: string,
    private readonly toks: Token[],
    private readonly hasFunction: (name: string) => boolean,
  ) {}

  parseRoot(): ListNode {
    const root: ListNode = { type: 'list', pos: 0, nodes: [] };
    while (this.peek().kind !== 'eof') {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.fail(`unexpected {{${n.type}}}`);
      root.nodes.push(n);
    }
    return root;
  }

  // --- token helpers (index-based so any look-ahead can be undone) ---

  private peek(): Token {
    return this.toks[Math.min(this.i, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    this.i++;
    this.lastPos = t.pos;
    return t;
  }
  private backup(): void {
    this.i--;
  }
  private nextNonSpace(): Token {
    let t: Token;
    do t = this.next(); while (t.kind === 'space');
    return t;
  }
  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }
  private isKeyword(t: Token, word: string): boolean {
    return t.kind === 'keyword' && t.value === word;
  }

  private fail(msg: string): never {
    throw new TemplateError(`template: :${lineOf(this.src, this.lastPos)}: ${msg}`);
  }
  private unexpected(t: Token, context: string): never {
    this.fail(`unexpected ${tokenString(t)} in ${context}`);
  }
  private expectRightDelim(context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== 'rightDelim') this.unexpected(t, context);
    return t;
  }

  // --- structure ---

  private textOrAction(): Parsed {
    const t = this.nextNonSpace();
    if (t.kind === 'text') return { type: 'text', pos: t.pos, text: t.value };
    if (t.kind === 'leftDelim') return this.action();
    this.unexpected(t, 'input');
  }

  private itemList(): [ListNode, EndMarker] {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().kind !== 'eof') {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.fail('unexpected EOF');
  }

  private action(): Parsed {
    const t = this.nextNonSpace();
    if (t.kind === 'keyword') {
      switch (t.value) {
        case 'break':
        case 'continue':
          return this.loopControl(t);
        case 'else': return this.elseControl(t);
        case 'end':
          this.expectRightDelim('end');
          return { type: 'end', pos: t.pos };
        case 'if':
        case 'range':
        case 'with':
          return this.control(t.value, t.pos);
        default:
          this.fail(`{{${t.value}}} is not supported`);
      }
    }
    this.backup();
    const pos = this.peek().pos;
    return { type: 'action', pos, pipe: this.pipeline('command', 'rightDelim') };
  }

  private loopControl(t: Token): LoopControlNode {
    const kind = t.value as 'break' | 'continue';
    this.expectRightDelim(`{{${kind}}}`);
    if (this.rangeDepth === 0) this.fail(`{{${kind}}} outside {{range}}`);
    return { type: kind, pos: t.pos };
  }

  /** `{{else if ...}}` / `{{else with ...}}` leave the keyword pending for control(). */
  private elseControl(t: Token): EndMarker {
    const peek = this.peekNonSpace();
    if (!this.isKeyword(peek, 'if') && !this.isKeyword(peek, 'with')) this.expectRightDelim('else');
    return { type: 'else', pos: t.pos };
  }

  /**
   * Parses the rest of an if/range/with. `{{else if b}}` is treated as
   * `{{else}}{{if b}}...{{end}}{{end}}` sharing the final `{{end}}`, as Go does.
   */
  private control(context: 'if' | 'range' | 'with', pos: number): BranchNode {
    const varMark = this.vars.length;
    const pipe = this.pipeline(context, 'rightDelim');
    if (context === 'range') this.rangeDepth++;
    const [list, next] = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: ListNode | null = null;
    if (next.type === 'else') {
      const pending = this.peek();
      if (pending.kind === 'keyword' && pending.value === context && context !== 'range') {
        this.next();
        elseList = { type: 'list', pos: next.pos, nodes: [this.control(context, pending.pos)] };
      } else {
        const [els, end] = this.itemList();
        if (end.type !== 'end') this.fail('expected end; found {{else}}');
        elseList = els;
      }
    }
    this.vars.length = varMark;
    return { type: context, pos, pipe, list, elseList };
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const pipe: PipeNode = { type: 'pipe', pos: this.peekNonSpace().pos, isAssign: false, decl: [], cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      if (!OPERAND_START.has(t.kind)) this.unexpected(t, context);
      this.backup();
      pipe.cmds.push(this.command());
    }
  }

  /** Parses `$x :=`, `$x =` or (in range) `$i, $e :=` at the start of a pipeline. */
  private declarations(pipe: PipeNode, context: string): void {
    for (;;) {
      const save = this.i;
      const v = this.nextNonSpace();
      if (v.kind !== 'variable') {
        this.i = save;
        return;
      }
      const op = this.nextNonSpace();
      if (op.kind === 'declare' || op.kind === 'assign') {
        pipe.isAssign = op.kind === 'assign';
        if (pipe.isAssign && !this.vars.includes(v.value)) this.fail(`undefined variable ${JSON.stringify(v.value)}`);
        pipe.decl.push(v.value);
        this.vars.push(v.value);
        return;
      }
      if (op.kind === 'comma') {
        pipe.decl.push(v.value);
        this.vars.push(v.value);
        if (context === 'range' && pipe.decl.length < 2) {
          const k = this.peekNonSpace().kind;
          if (k === 'variable' || k === 'rightDelim' || k === 'rightParen') continue;
          this.fail('range can only initialize variables');
        }
        this.fail(`too many declarations in ${context}`);
      }
      this.i = save;
      return;
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`);
    pipe.cmds.forEach((c, i) => {
      const first = c.args[0].type;
      if (i > 0 && ['bool', 'dot', 'nil', 'number', 'string'].includes(first)) {
        this.fail(`non executable command in pipeline stage ${i + 1}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      if (t.kind === 'space') continue;
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') this.backup();
      else if (t.kind !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command');
    return cmd;
  }

  /** A term optionally followed by `.Field.Field` (no space in between). */
  private operand(): ArgNode | null {
    const node = this.term();
    if (!node || this.peek().kind !== 'field') return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().kind === 'field') fields.push(this.next().value.slice(1));
    // Like Go, a merged `.A.B` takes the position of its chained part.
    switch (node.type) {
      case 'field': return { type: 'field', pos, idents: [...node.idents, ...fields] };
      case 'variable': return { type: 'variable', pos, idents: [...node.idents, ...fields] };
      case 'bool': case 'string': case 'number': case 'nil': case 'dot':
        this.fail(`unexpected . after term ${JSON.stringify(nodeString(node))}`);
      default:
        return { type: 'chain', pos, node, fields };
    }
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.kind) {
      case 'identifier':
        if (!this.hasFunction(t.value)) this.fail(`function ${JSON.stringify(t.value)} not defined`);
        return { type: 'identifier', pos: t.pos, name: t.value };
      case 'dot': return { type: 'dot', pos: t.pos };
      case 'nil': return { type: 'nil', pos: t.pos };
      case 'variable':
        if (!this.vars.includes(t.value)) this.fail(`undefined variable ${JSON.stringify(t.value)}`);
        return { type: 'variable', pos: t.pos, idents: [t.value] };
      case 'field': return { type: 'field', pos: t.pos, idents: [t.value.slice(1)] };
      case 'bool': return { type: 'bool', pos: t.pos, value: t.value === 'true' };
      case 'number': return { type: 'number', pos: t.pos, value: this.decode(() => parseNumberLiteral(t.value)), text: t.value };
      case 'char': return { type: 'number', pos: t.pos, value: this.decodeChar(t.value), text: t.value };
      case 'leftParen': return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
        return { type: 'string', pos: t.pos, value: this.decode(() => unquote(t.value.slice(1, -1), '"')), text: t.value };
      case 'rawString':
        // Go drops carriage returns from raw strings.
        return { type: 'string', pos: t.pos, value: t.value.slice(1, -1).replace(/\r/g, ''), text: t.value };
      default:
        this.backup();
        return null;
    }
  }

  private decode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      this.fail((e as Error).message);
    }
  }

  private decodeChar(text: string): number {
    const s = this.decode(() => unquote(text.slice(1, -1), "'"));
    const chars = Array.from(s);
    if (chars.length !== 1) this.fail(`malformed character constant: ${text}`);
    return chars[0].codePointAt(0) ?? 0;
  }
}

/**
 * Parses template source to an AST. `hasFunction` decides which identifiers
 * are callable; like Go, an unknown function is a parse error.
 */
export function parse(src: string, hasFunction: (name: string) => boolean): ListNode {
  const tokens = new Lexer(src).run();
  return new Parser(src, tokens, hasFunction).parseRoot();
}
