// Platforms (os/architecture/variant) in Go's naming, which registries and image configs use,
// and the choice of one image from an index. Matching follows containerd's platforms
// package: names are normalised first (x86_64 → amd64, aarch64 → arm64, arm64 ≡ arm64/v8,
// arm ≡ arm/v7), and a 32-bit arm host accepts older variants (v7 runs v6 and v5 images).
import * as os from 'node:os';
import { InvalidArgumentError, NotFoundError } from '../errors';
import type { Descriptor, ImageIndex, Platform } from './manifest';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, PlatformSpec['architecture']> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  x64: 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
  x86: '386',
  ia32: '386',
};

/** process.arch names that differ from Go's, beyond the aliases above. */
const NODE_ARCH: Record<string, string> = { mipsel: 'mipsle', ppc64: os.endianness() === 'LE' ? 'ppc64le' : 'ppc64' };

/** Go names with canonical variants: `arm64` gets `v8`, `arm` gets `v7`, `amd64/v1` none. */
export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const rawArch = p.architecture.toLowerCase();
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  let variant = p.variant?.toLowerCase() || undefined;
  if (variant && /^\d/.test(variant)) variant = `v${variant}`;
  if (rawArch === 'armhf' && !variant) variant = 'v7';
  if (rawArch === 'armel' && !variant) variant = 'v6';
  if (architecture === 'arm64' && (!variant || variant === 'v8.0')) variant = 'v8';
  if (architecture === 'arm' && !variant) variant = 'v7';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: PlatformSpec = { os: p.os.toLowerCase(), architecture };
  if (variant) out.variant = variant;
  return out;
}

export function formatPlatform(p: PlatformSpec): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** `linux/arm64/v8`, `linux/amd64` (the --platform flag). */
export function parsePlatform(s: string): PlatformSpec {
  const parts = s.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw new InvalidArgumentError(`invalid platform "${s}": expected os/arch[/variant], for example linux/arm64`);
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

/** The platform this process runs on, in Go's names. */
export function hostPlatform(): PlatformSpec {
  const arch = process.arch as string;
  let variant: string | undefined;
  if (arch === 'arm') {
    // Node records the ARM level it was built for; v7 is what Debian's armhf ships.
    const vars = (process.config as { variables?: Record<string, unknown> }).variables ?? {};
    const level = vars.arm_version;
    variant = typeof level === 'string' || typeof level === 'number' ? `v${level}` : undefined;
  }
  const architecture = NODE_ARCH[arch] ?? arch;
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture, variant });
}

/** Variants a `want` host can run, best first; undefined means "any, preferring none". */
function acceptableVariants(want: PlatformSpec): string[] | undefined {
  if (want.architecture === 'arm') {
    const order = ['v8', 'v7', 'v6', 'v5'];
    const from = order.indexOf(want.variant ?? 'v7');
    return from < 0 ? [want.variant as string] : order.slice(from);
  }
  if (want.architecture === 'arm64') return [want.variant ?? 'v8'];
  if (want.variant) return [want.variant];
  return undefined;
}

function isAttestation(d: Descriptor): boolean {
  return d.platform?.os === 'unknown' || d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

function platformOf(d: Descriptor): PlatformSpec | undefined {
  const p: Platform | undefined = d.platform;
  return p ? normalizePlatform({ os: p.os, architecture: p.architecture, variant: p.variant }) : undefined;
}

/**
 * The index entry to use on `wanted` (default: this host). Throws NotFoundError listing
 * the platforms the index offers when none fits.
 */
export function selectPlatform(index: ImageIndex, wanted: PlatformSpec = hostPlatform()): Descriptor {
  const want = normalizePlatform(wanted);
  const entries = index.manifests.filter((d) => !isAttestation(d));
  // An index with one entry and no platform (some OCI layouts) can only mean that entry.
  if (entries.length === 1 && !entries[0].platform) return entries[0];
  const same = entries.filter((d) => {
    const p = platformOf(d);
    return p !== undefined && p.os === want.os && p.architecture === want.architecture;
  });
  const variants = acceptableVariants(want);
  if (variants === undefined) {
    const best = same.find((d) => !platformOf(d)?.variant) ?? same[0];
    if (best) return best;
  } else {
    for (const v of variants) {
      const hit = same.find((d) => platformOf(d)?.variant === v);
      if (hit) return hit;
    }
  }
  const available = entries.map((d) => platformOf(d)).filter((p): p is PlatformSpec => p !== undefined).map(formatPlatform);
  const list = available.length ? available.join(', ') : 'none';
  throw new NotFoundError(`no image found in image index for platform ${formatPlatform(want)}; available platforms: ${list}`);
}
