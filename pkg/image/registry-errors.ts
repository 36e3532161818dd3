// Registry failures as one-line typed errors. Callers tell them apart by class (pull tries
// the next candidate on NotFoundError, login reports UnauthorizedError, the CLI suggests
// --tls-verify=false for TLS trouble); people read the message.
import { TspodError } from '../errors';

/** 401/403: no, wrong or insufficient credentials. */
export class UnauthorizedError extends TspodError {}

/** Any other HTTP failure from a registry, with its status and the registry's error codes. */
export class RegistryError extends TspodError {
  constructor(
    message: string,
    readonly status: number,
    readonly codes: string[] = [],
  ) {
    super(message);
  }
}

/** The registry could not be reached or spoke no HTTP(S) we understand. */
export class RegistryConnectionError extends TspodError {
  constructor(
    message: string,
    readonly code: string | undefined,
    /** true for certificate and protocol errors: --tls-verify=false might help */
    readonly tls: boolean,
    /** the server answered the TLS handshake in plain HTTP */
    readonly plainHttp = false,
  ) {
    super(message);
  }
}

export interface RegistryErrorDetail {
  code: string;
  message: string;
}

/** The `{"errors":[{code,message,detail}]}` body the distribution spec defines, if any. */
export function parseErrorBody(body: Buffer): RegistryErrorDetail[] {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: unknown };
    if (!Array.isArray(doc.errors)) return [];
    return doc.errors
      .filter((e): e is { code?: unknown; message?: unknown } => typeof e === 'object' && e !== null)
      .map((e) => ({ code: typeof e.code === 'string' ? e.code : 'UNKNOWN', message: typeof e.message === 'string' ? e.message : '' }));
  } catch {
    return [];
  }
}

/** `denied: requested access to the resource is denied` (Docker prints codes in lowercase). */
export function formatErrorDetails(details: RegistryErrorDetail[]): string {
  return details.map((d) => (d.message ? `${d.code.toLowerCase()}: ${d.message}` : d.code.toLowerCase())).join('; ');
}

const TLS_CERT_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'x509: certificate signed by unknown authority (self-signed certificate)',
  SELF_SIGNED_CERT_IN_CHAIN: 'x509: certificate signed by unknown authority (self-signed certificate in chain)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'x509: certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'x509: certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'x509: certificate signed by unknown authority',
  CERT_HAS_EXPIRED: 'x509: certificate has expired',
  CERT_NOT_YET_VALID: 'x509: certificate is not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'x509: certificate is not valid for this host name',
};

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'timed out',
  ESOCKETTIMEDOUT: 'timed out',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'temporary failure in name resolution',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  EPIPE: 'broken pipe',
  ERR_STREAM_PREMATURE_CLOSE: 'connection closed early',
};

/** Network errors worth retrying: the next attempt may well succeed. */
const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED']);

export function errorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isTransientNetworkError(err: unknown): boolean {
  if (err instanceof TspodError && !(err instanceof RegistryConnectionError)) return false;
  const code = err instanceof RegistryConnectionError ? err.code : errorCode(err);
  return code !== undefined && TRANSIENT.has(code);
}

/** A plain-HTTP server answering a TLS handshake makes OpenSSL report a bad record. */
function isPlainHttpReply(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : '';
  const code = errorCode(err) ?? '';
  return /wrong version number|packet length too long|http request/i.test(msg) || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG';
}

/** Turns a socket or TLS error into a RegistryConnectionError with a Go-like reason. */
export function connectionError(err: unknown, context: string): TspodError {
  // Already typed (a digest mismatch from a body stream, ...): keep it as it is.
  if (err instanceof TspodError) return err;
  const code = errorCode(err);
  if (isPlainHttpReply(err)) {
    return new RegistryConnectionError(`${context}: http: server gave HTTP response to HTTPS client`, code, true, true);
  }
  if (code && TLS_CERT_CODES[code]) return new RegistryConnectionError(`${context}: ${TLS_CERT_CODES[code]}`, code, true);
  if (code && /^ERR_SSL|^ERR_TLS|^EPROTO$/.test(code)) {
    return new RegistryConnectionError(`${context}: TLS handshake failed (${(err as Error).message.split('\n')[0]})`, code, true);
  }
  const reason = (code && NETWORK_CODES[code]) || (err instanceof Error ? err.message : String(err));
  return new RegistryConnectionError(`${context}: ${reason}`, code, false);
}

/** The hint a TLS failure deserves, naming the registry. */
export function tlsHint(host: string): string {
  return `if ${host} is a plain-HTTP or self-signed registry, use --tls-verify=false or set insecure = true for it in registries.conf`;
}
