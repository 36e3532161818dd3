/**
 * The `table` prefix of Docker/Podman `--format`: a header row derived from
 * the template's fields, then one row per item, with tab-separated cells
 * aligned exactly as Go's text/tabwriter does in Docker
 * (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`).
 */
import { runeLength } from './runes';
import { ArgNode, ListNode, Node, PipeNode } from './template-parser';

/** True for `table`, `table {{...}}` and `table\t...` (leading whitespace allowed). */
export function isTableFormat(format: string): boolean {
  return /^\s*table(\s|\{\{|$)/.test(format);
}

/**
 * The template part of a table format. Docker trims surrounding spaces; a bare
 * `table` becomes one tab-separated column per default field ('' if none).
 */
export function tableBody(format: string, defaultFields: string[]): string {
  const body = format.replace(/^\s*table/, '').replace(/^ +| +$/g, '');
  if (body !== '') return body;
  // Only keys that are valid template field names can become columns.
  const fields = defaultFields.filter((f) => /^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(f));
  return fields.map((f) => `{{.${f}}}`).join('\t');
}

/** `RepoTags` → `REPO TAGS`, `ImageID` → `IMAGE ID`, `ID` → `ID`. */
export function defaultHeader(field: string): string {
  return field
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toUpperCase();
}

/** Header for a field path: caller's map (full path, then last name, any case), else derived. */
function headerFor(path: string[], headers: Record<string, string> | undefined): string {
  const full = path.join('.');
  const last = path[path.length - 1];
  if (headers) {
    for (const key of [full, last]) {
      if (Object.hasOwn(headers, key)) return headers[key];
    }
    for (const key of [full, last]) {
      const match = Object.keys(headers).find((k) => k.toLowerCase() === key.toLowerCase());
      if (match !== undefined) return headers[match];
    }
  }
  return defaultHeader(last);
}

/** The first field path an expression reads, in evaluation order. */
function firstFieldOfArg(arg: ArgNode): string[] | undefined {
  switch (arg.type) {
    case 'field': return arg.idents;
    case 'variable': return arg.idents.length > 1 ? arg.idents.slice(1) : undefined;
    case 'chain': return firstFieldOfArg(arg.node) ?? arg.fields;
    case 'pipe': return firstFieldOfPipe(arg);
    default: return undefined;
  }
}

function firstFieldOfPipe(pipe: PipeNode): string[] | undefined {
  for (const cmd of pipe.cmds) {
    for (const arg of cmd.args) {
      const path = firstFieldOfArg(arg);
      if (path) return path;
    }
  }
  return undefined;
}

function firstFieldOfList(list: ListNode): string[] | undefined {
  for (const node of list.nodes) {
    const path = firstFieldOfNode(node);
    if (path) return path;
  }
  return undefined;
}

function firstFieldOfNode(node: Node): string[] | undefined {
  switch (node.type) {
    case 'action': return firstFieldOfPipe(node.pipe);
    case 'if':
    case 'range':
    case 'with':
      return firstFieldOfPipe(node.pipe) ?? firstFieldOfList(node.list);
    default: return undefined;
  }
}

/**
 * The header row for a table template. Text is kept (so tabs and separators
 * line up) and every output action or if/range/with block is replaced by the
 * header of the first field it reads, e.g. `{{.ID}}\t{{upper .Names}}` →
 * `CONTAINER ID\tNAMES` given `{ID: 'CONTAINER ID'}`.
 *
 * Docker instead executes the template against a map of headers; deriving the
 * header statically gives the same result for ordinary templates and never
 * fails on functions or ranges that expect real data.
 */
export function tableHeaderRow(root: ListNode, headers?: Record<string, string>): string {
  let out = '';
  for (const node of root.nodes) {
    if (node.type === 'text') {
      out += node.text;
    } else if (node.type !== 'action' || node.pipe.decl.length === 0) {
      const path = firstFieldOfNode(node);
      if (path) out += headerFor(path, headers);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// tabwriter

export interface TabWriterOptions {
  /** Minimal cell width including padding. */
  minWidth: number;
  /** Padding added to a cell's text width when computing column width. */
  padding: number;
  /** Character used to pad cells. */
  padChar: string;
}

/** Docker's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`. */
export const DOCKER_TABWRITER: TabWriterOptions = { minWidth: 10, padding: 3, padChar: ' ' };

/**
 * Splits text into lines of cells the way tabwriter does: every `\t` ends a
 * cell, and a newline ends the line's last cell. Text after the final newline
 * is a last line whose trailing unterminated empty cell is dropped.
 */
function splitCells(text: string): string[][] {
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  const cells = lines.map((l) => l.split('\t'));
  if (last !== '') {
    const lastCells = last.split('\t');
    if (lastCells[lastCells.length - 1] === '') lastCells.pop();
    cells.push(lastCells);
  } else {
    cells.push([]);
  }
  return cells;
}

/**
 * Aligns `\t`-separated cells into columns, reproducing Go's text/tabwriter
 * (padchar ' ', no flags). A column is a run of consecutive lines that all
 * have a tab-terminated cell at that index; its width is the widest cell plus
 * padding, but at least minWidth. The last cell of each line is not part of
 * any column and is never padded.
 */
export function alignColumns(text: string, opts: TabWriterOptions = DOCKER_TABWRITER): string {
  const lines = splitCells(text);
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      lines[i].forEach((cell, j) => {
        out.push(cell);
        if (j < widths.length) out.push(opts.padChar.repeat(Math.max(widths[j] - runeLength(cell), 0)));
      });
      if (i + 1 < lines.length) out.push('\n');
    }
  };

  // Mirrors tabwriter.format: find each block of lines sharing column
  // `widths.length`, size it, then recurse for the columns to its right.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let row = line0; row < line1; row++) {
      if (column >= lines[row].length - 1) continue;
      writeLines(line0, row);
      line0 = row;
      let width = opts.minWidth;
      for (; row < line1 && column < lines[row].length - 1; row++) {
        width = Math.max(width, runeLength(lines[row][column]) + opts.padding);
      }
      widths.push(width);
      format(line0, row);
      widths.pop();
      line0 = row;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('');
}
