// The distribution auth dance: a 401 carries `WWW-Authenticate: Bearer realm=,service=,scope=`
// (→ fetch a token from the realm, with basic credentials when we have some, anonymously
// otherwise) or `Basic realm=` (→ send the credentials on every request). Tokens are cached
// per (host, user, scope) until shortly before they expire, so a pull of twenty layers asks
// the token server once.
import type { IncomingMessage } from 'node:http';
import type { Credentials } from './auth-store';
import { RegistryError, UnauthorizedError, formatErrorDetails, parseErrorBody } from './registry-errors';
import { HttpRequestSpec, discard, readBody } from './registry-http';

export interface Challenge {
  /** lowercase: "bearer" or "basic" */
  scheme: string;
  params: Record<string, string>;
}

export type Action = 'pull' | 'push';

/** `repository:library/alpine:pull,push` */
export function repositoryScope(repository: string, actions: Action[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/**
 * Parses a WWW-Authenticate header (RFC 7235): several challenges may share one header, and
 * quoted parameter values may contain commas. A token followed by `=` is a parameter of the
 * current challenge; any other token starts a new challenge.
 */
export function parseChallenges(headerValue: string | undefined): Challenge[] {
  const out: Challenge[] = [];
  if (!headerValue) return out;
  const s = headerValue;
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < s.length && chars.test(s[i])) i++;
  };
  const token = () => {
    const start = i;
    while (i < s.length && /[A-Za-z0-9!#$%&'*+.^_`|~/-]/.test(s[i])) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skip(/[\s,]/);
    const name = token();
    if (!name) {
      i++;
      continue;
    }
    skip(/[ \t]/);
    if (s[i] !== '=') {
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
      continue;
    }
    i++;
    skip(/[ \t]/);
    let value = '';
    if (s[i] === '"') {
      for (i++; i < s.length && s[i] !== '"'; i++) value += s[i] === '\\' && i + 1 < s.length ? s[++i] : s[i];
      i++;
    } else {
      const start = i;
      while (i < s.length && s[i] !== ',' && !/\s/.test(s[i])) i++;
      value = s.slice(start, i);
    }
    if (current) current.params[name.toLowerCase()] = value;
  }
  return out;
}

/** The challenge to answer: Bearer when offered (it carries scopes), else Basic. */
export function chooseChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

export function basicAuthorization(creds: Credentials): string {
  return 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
}

export interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens by (host, user, scopes); shared by all clients of one process. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  static key(host: string, username: string, scopes: string[]): string {
    return `${host}\n${username}\n${[...scopes].sort().join(' ')}`;
  }

  get(key: string, now = Date.now()): string | undefined {
    const t = this.tokens.get(key);
    // Leave a margin: a token that expires in flight fails the request it was sent with.
    if (t && t.expiresAt - 5_000 > now) return t.token;
    this.tokens.delete(key);
    return undefined;
  }

  set(key: string, token: CachedToken): void {
    this.tokens.set(key, token);
  }

  clear(): void {
    this.tokens.clear();
  }
}

export const sharedTokenCache = new TokenCache();

/** The distribution spec: tokens without expires_in live 60 s, and never count as shorter. */
const MIN_TOKEN_LIFETIME_S = 60;
const TOKEN_BODY_LIMIT = 1 << 20;

export type Send = (spec: HttpRequestSpec) => Promise<IncomingMessage>;

function tokenRequest(challenge: Challenge, scopes: string[], creds: Credentials | undefined): HttpRequestSpec {
  const realm = challenge.params.realm;
  const url = new URL(realm);
  const service = challenge.params.service;
  if (creds?.identityToken) {
    // An identity token is an OAuth2 refresh token: POST it (docker/distribution token spec).
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'tspod' });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    const body = Buffer.from(form.toString());
    return { method: 'POST', url, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body };
  }
  if (service) url.searchParams.set('service', service);
  for (const s of scopes) url.searchParams.append('scope', s);
  if (creds?.username) url.searchParams.set('account', creds.username);
  const headers: Record<string, string> = {};
  if (creds && (creds.username || creds.password)) headers.Authorization = basicAuthorization(creds);
  return { method: 'GET', url, headers };
}

/** Fetches a bearer token for `scopes` from the challenge's realm. */
export async function fetchToken(host: string, challenge: Challenge, scopes: string[], creds: Credentials | undefined, send: Send): Promise<CachedToken> {
  if (!challenge.params.realm) throw new RegistryError(`${host}: the registry asked for a bearer token but named no realm`, 401);
  let realm: URL;
  try {
    realm = new URL(challenge.params.realm);
  } catch {
    throw new RegistryError(`${host}: invalid token realm "${challenge.params.realm}"`, 401);
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new RegistryError(`${host}: unsupported token realm ${realm.href}`, 401);
  const res: IncomingMessage = await send(tokenRequest(challenge, scopes, creds));
  const status = res.statusCode ?? 0;
  if (status === 401 || status === 403) {
    const details = formatErrorDetails(parseErrorBody(await readBody(res, TOKEN_BODY_LIMIT).catch(() => Buffer.alloc(0))));
    const who = creds?.username ? ` as ${creds.username}` : '';
    const why = details ? `: ${details}` : '';
    throw new UnauthorizedError(
      creds ? `authentication failed for ${host}${who}${why}: check the credentials with "tspod login ${host}"` : `authentication required for ${host}: run "tspod login ${host}"`,
    );
  }
  if (status !== 200) {
    discard(res);
    throw new RegistryError(`${host}: getting a token from ${realm.origin}${realm.pathname}: HTTP ${status}`, status);
  }
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    doc = JSON.parse((await readBody(res, TOKEN_BODY_LIMIT)).toString('utf8')) as typeof doc;
  } catch {
    throw new RegistryError(`${host}: the token server at ${realm.origin} sent an invalid response`, status);
  }
  const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
  if (!token) throw new RegistryError(`${host}: the token server at ${realm.origin} sent no token`, status);
  const lifetime = Math.max(typeof doc.expires_in === 'number' ? doc.expires_in : 0, MIN_TOKEN_LIFETIME_S);
  const issued = typeof doc.issued_at === 'string' && !Number.isNaN(Date.parse(doc.issued_at)) ? Math.min(Date.parse(doc.issued_at), Date.now()) : Date.now();
  return { token, expiresAt: issued + lifetime * 1000 };
}
