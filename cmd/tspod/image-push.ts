import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';
import { parseCreds, parseTlsVerify } from './registry-flags';
import { transferDisplay } from './transfer-display';

/** --cert-dir: every *.crt in the directory is a trusted CA (as in containers-certs.d(5)). */
export function readCertDir(dir: string | undefined): string[] | undefined {
  if (dir === undefined) return undefined;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new InvalidArgumentError(`--cert-dir ${dir}: ${(err as Error).message}`);
  }
  return names
    .filter((n) => n.endsWith('.crt'))
    .sort()
    .map((n) => fs.readFileSync(path.join(dir, n), 'utf8'));
}

export class PushCommand extends TspodCommand {
  static override paths = [['push'], ['image', 'push']];
  static override usage = Command.Usage({
    description: 'Push an image to a registry',
    details:
      'Pushes IMAGE to DESTINATION, by default the name IMAGE has. Layers the registry already holds, or can mount from the repository the image was pulled from, are not uploaded, and when every layer is reused the manifest goes out unchanged, with the digest it was pulled with. Other layers are compressed anew with gzip, which gives them and the manifest new digests (and the config too when the re-made layer tar differs from the original one). `--format` converts the manifest between OCI and Docker schema 2; by default it keeps the image\'s own. Progress goes to stderr.',
    examples: [
      ['Push an image under its own name', 'tspod push registry.example.com/team/app:1'],
      ['Push under another name', 'tspod push app localhost:5000/team/app:1'],
      ['Push to a plain-HTTP registry', 'tspod push --tls-verify=false app 127.0.0.1:5000/app'],
      ['Push as an OCI manifest and save its digest', 'tspod push --format oci --digestfile app.digest app quay.io/me/app'],
    ],
  });

  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress progress output' });
  format = Option.String('-f,--format', { description: 'Manifest type of the destination: oci or v2s2 (default: the image\'s own)' });
  digestfile = Option.String('--digestfile', { description: 'Write the digest of the pushed manifest to this file' });
  compressionFormat = Option.String('--compression-format', { description: 'Compression for layers that are compressed anew (gzip)' });
  removeSignatures = Option.Boolean('--remove-signatures', false, { description: 'Do not copy signatures (tspod keeps none)' });
  all = Option.Boolean('--all', false, { description: 'Push all images of a manifest list (tspod stores one image per name: no effect)' });
  tlsVerify = Option.String('--tls-verify', { tolerateBoolean: true, description: 'Require HTTPS and verify certificates (default from registries.conf)' });
  authfile = Option.String('--authfile', { description: 'Path of the authentication file' });
  creds = Option.String('--creds', { description: 'Credentials (USERNAME[:PASSWORD]) for the registry' });
  certDir = Option.String('--cert-dir', { description: 'Directory with the registry\'s CA certificates (*.crt)' });
  image = Option.String({ name: 'IMAGE' });
  destination = Option.String({ name: 'DESTINATION', required: false });

  async run(): Promise<number> {
    const { Engine } = await import('../../pkg/engine/engine');
    const { pushImage } = await import('../../pkg/image/image-push');
    const { parseManifestFormat } = await import('../../pkg/image/manifest-format');
    if (this.compressionFormat !== undefined && this.compressionFormat !== 'gzip') {
      throw new InvalidArgumentError(`unsupported compression format "${this.compressionFormat}": tspod writes gzip layers`);
    }
    const engine = new Engine(this.config());
    try {
      const result = await pushImage(engine, this.image, this.destination, {
        format: this.format === undefined ? undefined : parseManifestFormat(this.format),
        compressionFormat: this.compressionFormat === 'gzip' ? 'gzip' : undefined,
        tlsVerify: parseTlsVerify(this.tlsVerify),
        credentials: parseCreds(this.creds),
        ca: readCertDir(this.certDir),
        authStore: { authFile: this.authfile, runtimeDir: engine.config.runtimeDir },
        listener: transferDisplay(this.quiet),
      });
      // Podman writes the bare digest, no newline.
      if (this.digestfile !== undefined) fs.writeFileSync(this.digestfile, result.digest);
    } finally {
      engine.close();
    }
    return 0;
  }
}
