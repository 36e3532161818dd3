// Flags shared by the commands that talk to registries (pull, push, run, create, build,
// login): --tls-verify, --authfile, --creds, parsed once here.
import { InvalidArgumentError } from '../../pkg/errors';
import type { Credentials } from '../../pkg/image/auth-store';

/** `--tls-verify`, `--tls-verify=false`, or absent (registries.conf decides). */
export function parseTlsVerify(value: string | boolean | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new InvalidArgumentError(`invalid argument "${value}" for "--tls-verify" flag: use true or false`);
}

/** `--creds user[:password]`. */
export function parseCreds(value: string | undefined): Credentials | undefined {
  if (value === undefined) return undefined;
  const i = value.indexOf(':');
  if (i <= 0) throw new InvalidArgumentError('--creds must be USERNAME[:PASSWORD] with a non-empty username');
  return { username: value.slice(0, i), password: value.slice(i + 1) };
}
