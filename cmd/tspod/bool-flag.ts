// Docker's boolean flags (Go's pflag) take a value after '=': `--ipv6=false`, `-H=0`. Options
// declared as strings with tolerateBoolean accept that, and this turns what came into a boolean.
import { InvalidArgumentError } from '../../pkg/errors';

/** A pflag-style boolean: bare (`-H`), `=true|false|1|0|t|f`, or absent (`fallback`). */
export function parseBoolFlag(flag: string, value: string | boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new InvalidArgumentError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}
