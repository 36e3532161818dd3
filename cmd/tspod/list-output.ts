// Printing lists the way Podman prints them: an aligned default table without the template
// engine (listing commands run often and in scripts), or --format through the shared module.
import { alignColumns, TabWriterOptions } from '../../pkg/format/table';
import { InvalidArgumentError } from '../../pkg/errors';

/** Podman's tabwriter (12 wide, 2 apart): `images` and `history` look like Podman's. */
export const PODMAN_TABWRITER: TabWriterOptions = { minWidth: 12, padding: 2, padChar: ' ' };

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/**
 * The default table without the template engine: the same text `table {{.A}}\t{{.B}}` gives,
 * for a fraction of the start-up cost (listing commands are run often, and in scripts).
 */
export function plainTable(columns: readonly string[], headers: Record<string, string>, items: readonly object[], noHeading = false): string {
  const lines: string[] = [];
  if (!noHeading) lines.push(`${columns.map((c) => headers[c] ?? c).join('\t')}\n`);
  for (const item of items) lines.push(`${columns.map((c) => String((item as Record<string, unknown>)[c])).join('\t')}\n`);
  return alignColumns(lines.join(''), PODMAN_TABWRITER);
}

/**
 * A list for `--format`: a `table` format is aligned as Podman aligns it (a bare `table` is the
 * command's default), `json` and plain templates go through formatList. `noHeading` drops the
 * header row, as `-n/--noheading` does.
 */
export async function formatRows(
  format: string,
  items: readonly object[],
  headers: Record<string, string>,
  opts: { defaultFormat: string; noHeading?: boolean },
): Promise<string> {
  const { formatList, isTableFormat, parseTemplate, TemplateError } = await import('../../pkg/format/go-template');
  const { tableBody, tableHeaderRow } = await import('../../pkg/format/table');
  const { parse } = await import('../../pkg/format/template-parser');
  const src = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  try {
    if (format.trim() === 'json' || !isTableFormat(src)) return formatList(format, [...items], headers);
    let body = tableBody(src, []);
    if (body === '') body = tableBody(opts.defaultFormat, []);
    const template = parseTemplate(body);
    const lines: string[] = [];
    if (!opts.noHeading) lines.push(withNewline(tableHeaderRow(parse(body, () => true), headers)));
    for (const item of items) lines.push(withNewline(template.execute(item)));
    return alignColumns(lines.join(''), PODMAN_TABWRITER);
  } catch (err) {
    if (err instanceof TemplateError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

