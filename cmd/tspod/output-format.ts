// The --format flag of commands that print one object (version, info, inspect): `json`
// prints the object as indented JSON, anything else is a Go template.
import { renderTemplate, TemplateError } from '../../pkg/format/go-template';
import { InvalidArgumentError } from '../../pkg/errors';

export function formatObject(format: string, data: unknown): string {
  if (format === 'json' || format === '{{json .}}') {
    return format === 'json' ? `${JSON.stringify(data, null, 4)}\n` : `${JSON.stringify(data)}\n`;
  }
  try {
    const text = renderTemplate(format, data);
    return text.endsWith('\n') ? text : `${text}\n`;
  } catch (err) {
    if (err instanceof TemplateError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}
