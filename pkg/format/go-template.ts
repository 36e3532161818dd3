/**
 * Go `text/template` rendering for `--format` flags, compatible with how
 * Docker and Podman use it: Go's builtin functions plus Docker's extras
 * (`json`, `join`, `split`, `lower`, `upper`, `title`, `truncate`, `pad`) and
 * Podman's `replace`.
 *
 * Data is plain JS values. How they map to Go:
 *   - objects and `Map`s behave like Go maps (`map[k:v]` printing, ranged in
 *     sorted key order, empty ones are false);
 *   - `.Field` looks the key up exactly, then falls back to a case-insensitive
 *     match. Go is case-sensitive, but our JS objects sometimes use camelCase
 *     where Docker's Go structs use PascalCase (`.Id` vs `.ID`), and a lenient
 *     lookup keeps user templates working;
 *   - a function-valued field is a Go method: `{{.Label "k"}}` calls it;
 *   - `undefined` is Go's "no value" (a missing map key, prints `<no value>`),
 *     `null` is nil (prints `<nil>`). Fields of either are leniently missing.
 */
import {
  ArgNode, BranchNode, CommandNode, IdentifierNode, ListNode, Node, PipeNode,
  TemplateError, lineOf, nodeString, parse,
} from './template-parser';
import {
  formatValue, goType, isArrayLike, isMapLike, isPlainObject, mapEntries, toArray,
} from './go-printf';
import { BUILTINS, isTrue, toJSON } from './template-functions';
import { alignColumns, isTableFormat, tableBody, tableHeaderRow } from './table';

export { TemplateError } from './template-parser';
export { isTableFormat } from './table';
export { formatValue, sprintf } from './go-printf';

export interface Template {
  execute(data: unknown): string;
}

// ---------------------------------------------------------------------------
// Execution

const NO_FINAL: unique symbol = Symbol('no final value');
type Final = unknown;
type Signal = 'break' | 'continue' | undefined;

interface Variable { name: string; value: unknown }

/** Finds a field on a receiver; `found` is false for a missing map key. */
function lookupField(receiver: object, name: string): { found: boolean; value: unknown } {
  if (receiver instanceof Map) {
    if (receiver.has(name)) return { found: true, value: receiver.get(name) };
    const key = [...receiver.keys()].find((k) => typeof k === 'string' && k.toLowerCase() === name.toLowerCase());
    return key === undefined ? { found: false, value: undefined } : { found: true, value: receiver.get(key) };
  }
  const rec = receiver as Record<string, unknown>;
  // Own keys, or class members (getters/methods) — but never Object.prototype's.
  if (Object.hasOwn(rec, name) || (name in rec && !(name in Object.prototype))) return { found: true, value: rec[name] };
  const lower = name.toLowerCase();
  const key = Object.keys(rec).find((k) => k.toLowerCase() === lower);
  return key === undefined ? { found: false, value: undefined } : { found: true, value: rec[key] };
}

class Executor {
  private readonly out: string[] = [];
  private readonly vars: Variable[];

  constructor(private readonly src: string, data: unknown) {
    this.vars = [{ name: '$', value: data }];
  }

  run(root: ListNode, data: unknown): string {
    this.walkList(data, root);
    return this.out.join('');
  }

  /** Go's exec error: `template: NAME:LINE:COL: executing "NAME" at <NODE>: MSG`. */
  private fail(node: ArgNode | CommandNode, msg: string): never {
    const before = this.src.slice(0, node.pos);
    const lineStart = before.lastIndexOf('\n') + 1;
    // Go reports the 0-based byte offset within the line.
    const col = Buffer.byteLength(before.slice(lineStart), 'utf8');
    const ctx = nodeString(node);
    const message = `template: :${lineOf(this.src, node.pos)}:${col}: executing "" at <${ctx}>: ${msg}`;
    throw new TemplateError(message.replace(/\r?\n/g, '\\n'));
  }

  // --- statements ---

  private walkList(dot: unknown, list: ListNode): Signal {
    for (const node of list.nodes) {
      const signal = this.walk(dot, node);
      if (signal) return signal;
    }
    return undefined;
  }

  private walk(dot: unknown, node: Node): Signal {
    switch (node.type) {
      case 'text':
        this.out.push(node.text);
        return undefined;
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe, true);
        if (node.pipe.decl.length === 0) this.print(node.pipe, value);
        return undefined;
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'range':
        return this.walkRange(dot, node);
      case 'break':
      case 'continue':
        return node.type;
    }
  }

  private print(pipe: PipeNode, value: unknown): void {
    if (typeof value === 'function') this.fail(pipe, `can't print ${nodeString(pipe)} of type func`);
    this.out.push(formatValue(value, true));
  }

  private scoped<T>(fn: () => T): T {
    const mark = this.vars.length;
    try {
      return fn();
    } finally {
      this.vars.length = mark;
    }
  }

  private walkIfOrWith(dot: unknown, node: BranchNode): Signal {
    return this.scoped(() => {
      const value = this.evalPipeline(dot, node.pipe, true);
      if (isTrue(value)) return this.walkList(node.type === 'with' ? value : dot, node.list);
      return node.elseList ? this.walkList(dot, node.elseList) : undefined;
    });
  }

  /** Collects [key, element] pairs to range over, Go-style. */
  private rangeItems(node: BranchNode, value: unknown): [unknown, unknown][] {
    if (value === undefined || value === null) return [];
    if (isArrayLike(value)) return toArray(value).map((e, i) => [i, e]);
    if (typeof value === 'number' && Number.isInteger(value)) {
      if (node.pipe.decl.length > 1) this.fail(node.pipe, `can't use ${value} to iterate over more than one variable`);
      return Array.from({ length: Math.max(value, 0) }, (_, i) => [i, i]);
    }
    if (isMapLike(value) && (isPlainObject(value) || value instanceof Map)) return mapEntries(value);
    this.fail(node.pipe, `range can't iterate over ${formatValue(value)}`);
  }

  private walkRange(dot: unknown, node: BranchNode): Signal {
    return this.scoped(() => {
      const value = this.evalPipeline(dot, node.pipe, false);
      const items = this.rangeItems(node, value);
      if (items.length === 0) return node.elseList ? this.walkList(dot, node.elseList) : undefined;
      for (const [key, elem] of items) {
        const signal = this.scoped(() => {
          this.bindRangeVars(node.pipe, key, elem);
          return this.walkList(elem, node.list);
        });
        if (signal === 'break') break;
      }
      return undefined;
    });
  }

  /** One variable gets the element; two get index/key and element. */
  private bindRangeVars(pipe: PipeNode, key: unknown, elem: unknown): void {
    const values = pipe.decl.length > 1 ? [key, elem] : [elem];
    pipe.decl.forEach((name, i) => {
      if (pipe.isAssign) this.setVar(pipe, name, values[i]);
      else this.vars.push({ name, value: values[i] });
    });
  }

  private setVar(node: PipeNode, name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.fail(node, `undefined variable: ${name}`);
  }

  private varValue(node: ArgNode, name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.fail(node, `undefined variable: ${name}`);
  }

  // --- expressions ---

  private evalPipeline(dot: unknown, pipe: PipeNode, declare: boolean): unknown {
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    if (declare) {
      for (const name of pipe.decl) {
        if (pipe.isAssign) this.setVar(pipe, name, value);
        else this.vars.push({ name, value });
      }
    }
    return value;
  }

  private notAFunction(node: ArgNode, args: ArgNode[], final: Final): void {
    if (args.length > 0 || final !== NO_FINAL) this.fail(node, `can't give argument to non-function ${nodeString(node)}`);
  }

  /** A command's first word decides: method/field call, function call, or a plain value. */
  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const [first, ...args] = cmd.args;
    switch (first.type) {
      case 'field': return this.evalFieldChain(dot, first, dot, first.idents, args, final);
      case 'chain': {
        if (first.node.type === 'nil') this.fail(first, `indirection through explicit nil in ${nodeString(first)}`);
        const receiver = this.evalArg(dot, first.node);
        return this.evalFieldChain(dot, first, receiver, first.fields, args, final);
      }
      case 'identifier': return this.evalFunction(dot, first, cmd, args, final);
      case 'variable': {
        const value = this.varValue(first, first.idents[0]);
        if (first.idents.length === 1) {
          this.notAFunction(first, args, final);
          return value;
        }
        return this.evalFieldChain(dot, first, value, first.idents.slice(1), args, final);
      }
      case 'nil':
        this.fail(first, 'nil is not a command');
    }
    this.notAFunction(first, args, final);
    return this.evalArg(dot, first);
  }

  /** Evaluates an argument: like a command with no arguments. */
  private evalArg(dot: unknown, node: ArgNode): unknown {
    switch (node.type) {
      case 'dot': return dot;
      case 'nil': return null;
      case 'bool': case 'number': case 'string': return node.value;
      case 'pipe': return this.evalPipeline(dot, node, true);
      default: return this.evalCommand(dot, { type: 'command', pos: node.pos, args: [node] }, NO_FINAL);
    }
  }

  private evalFieldChain(dot: unknown, node: ArgNode, receiver: unknown, idents: string[], args: ArgNode[], final: Final): unknown {
    let value = receiver;
    idents.forEach((name, i) => {
      const last = i === idents.length - 1;
      value = this.evalField(dot, node, name, value, last ? args : [], last ? final : NO_FINAL);
    });
    return value;
  }

  private evalField(dot: unknown, node: ArgNode, name: string, receiver: unknown, args: ArgNode[], final: Final): unknown {
    const hasArgs = args.length > 0 || final !== NO_FINAL;
    // Lenient: fields of nil or a missing value are missing too (Go errors on nil pointers).
    if (receiver === undefined || receiver === null) return undefined;
    if (typeof receiver !== 'object' && typeof receiver !== 'function') {
      this.fail(node, `can't evaluate field ${name} in type ${goType(receiver)}`);
    }
    if (isArrayLike(receiver)) this.fail(node, `can't evaluate field ${name} in type ${goType(receiver)}`);
    const { value } = lookupField(receiver, name);
    if (typeof value === 'function') {
      const argv = args.map((a) => this.evalArg(dot, a));
      if (final !== NO_FINAL) argv.push(final);
      try {
        return (value as (...a: unknown[]) => unknown).apply(receiver, argv);
      } catch (e) {
        if (e instanceof TemplateError) throw e;
        this.fail(node, `error calling ${name}: ${(e as Error).message}`);
      }
    }
    if (hasArgs) this.fail(node, `${name} is not a method but has arguments`);
    return value;
  }

  /** Arity errors point at the function name, call errors at the whole command (as Go does). */
  private evalFunction(dot: unknown, node: IdentifierNode, cmd: CommandNode, args: ArgNode[], final: Final): unknown {
    const def = BUILTINS[node.name];
    const count = args.length + (final === NO_FINAL ? 0 : 1);
    if (count < def.min || count > def.max) {
      const want = def.max === Infinity ? `at least ${def.min}` : def.min === def.max ? `${def.min}` : `${def.min} to ${def.max}`;
      this.fail(node, `wrong number of args for ${node.name}: want ${want} got ${count}`);
    }
    if (node.name === 'and' || node.name === 'or') return this.evalAndOr(dot, node.name, args, final);
    const argv = args.map((a) => this.evalArg(dot, a));
    if (final !== NO_FINAL) argv.push(final);
    try {
      return def.fn(...argv);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.fail(cmd, `error calling ${node.name}: ${(e as Error).message}`);
    }
  }

  /** and/or short-circuit, returning the deciding operand (Go 1.18+). */
  private evalAndOr(dot: unknown, name: 'and' | 'or', args: ArgNode[], final: Final): unknown {
    let value: unknown;
    for (const arg of args) {
      value = this.evalArg(dot, arg);
      if (isTrue(value) === (name === 'or')) return value;
    }
    return final === NO_FINAL ? value : final;
  }
}

// ---------------------------------------------------------------------------
// Public API

class GoTemplate implements Template {
  constructor(readonly src: string, readonly root: ListNode) {}

  execute(data: unknown): string {
    return new Executor(this.src, data).run(this.root, data);
  }
}

/** Parses a template; throws TemplateError on bad syntax or unknown functions. */
export function parseTemplate(src: string): Template {
  return new GoTemplate(src, parse(src, (name) => Object.hasOwn(BUILTINS, name)));
}

/** Parses and executes in one step. */
export function renderTemplate(src: string, data: unknown): string {
  return parseTemplate(src).execute(data);
}

/** Docker lets shell users type `\t` and `\n` literally in --format. */
function unescapeFormat(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}

/**
 * Renders a list for a CLI `--format` flag:
 *   - `json`: the items as a JSON array indented by 4 spaces (as podman does);
 *   - `table <template>`: a header row, then one row per item, aligned like
 *     Docker's tabwriter. A bare `table` uses the `headers` keys as columns
 *     (or the first item's keys). `headers` maps field names to titles;
 *   - anything else: the template once per item, each ending in a newline.
 */
export function formatList(format: string, items: unknown[], headers?: Record<string, string>): string {
  if (format.trim() === 'json') return toJSON(items, 4) + '\n';
  const src = unescapeFormat(format);
  if (!isTableFormat(src)) {
    const tmpl = parseTemplate(src);
    return items.map((item) => withNewline(tmpl.execute(item))).join('');
  }
  const body = tableBody(src, Object.keys(headers ?? (isMapLike(items[0]) ? items[0] : {})));
  if (body === '') return ''; // bare `table` with nothing to describe
  const tmpl = parseTemplate(body) as GoTemplate;
  const rows = [withNewline(tableHeaderRow(tmpl.root, headers))];
  for (const item of items) rows.push(withNewline(tmpl.execute(item)));
  return alignColumns(rows.join(''));
}
