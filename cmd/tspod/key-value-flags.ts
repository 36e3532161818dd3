// Repeated KEY=VALUE flags (--label, -o/--opt) as a record: a bare KEY means an empty value.
import { InvalidArgumentError } from '../../pkg/errors';

export function keyValues(items: readonly string[], flag: string, opts: { splitCommas?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    for (const part of opts.splitCommas ? item.split(',') : [item]) {
      const eq = part.indexOf('=');
      if (eq === 0) throw new InvalidArgumentError(`invalid ${flag} "${part}": use KEY=VALUE`);
      if (eq < 0) out[part] = '';
      else out[part.slice(0, eq)] = part.slice(eq + 1);
    }
  }
  return out;
}
