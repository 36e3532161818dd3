// Chain IDs name a layer together with everything beneath it (OCI image spec, config.md):
// the bottom layer's chain ID is its diff ID, every layer above hashes its parent's chain ID
// and its own diff ID. Two images sharing a base share its chain IDs, so the store keeps the
// base once; the same diff on two different parents gets two IDs, as its tree differs.
import * as crypto from 'node:crypto';
import { InvalidArgumentError } from '../errors';

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isSha256Digest(value: string): boolean {
  return SHA256_DIGEST.test(value);
}

function requireSha256(value: string, what: string): void {
  if (!isSha256Digest(value)) throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(value)}: want sha256:<64 hex digits>`);
}

/** ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainId(parentChainId: string | undefined | null, diffId: string): string {
  requireSha256(diffId, 'diff ID');
  if (parentChainId === undefined || parentChainId === null) return diffId;
  requireSha256(parentChainId, 'chain ID');
  return 'sha256:' + crypto.createHash('sha256').update(`${parentChainId} ${diffId}`).digest('hex');
}

/** The chain IDs of an image's layers, bottom first, from its config's rootfs.diff_ids. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) out.push(chainId(out.length ? out[out.length - 1] : undefined, diffId));
  return out;
}

/** The hex part, which names the layer's directory on disk. */
export function digestHex(digest: string): string {
  requireSha256(digest, 'digest');
  return digest.slice('sha256:'.length);
}
