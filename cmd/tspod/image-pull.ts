import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { parseCreds, parseTlsVerify } from './registry-flags';
import { transferDisplay } from './transfer-display';

export class PullCommand extends TspodCommand {
  static override paths = [['pull'], ['image', 'pull']];
  static override usage = Command.Usage({
    description: 'Pull an image from a registry',
    details:
      'Short names (`alpine`) are looked up on the registries listed in unqualified-search-registries of registries.conf, in order (docker.io when no list is set). Mirrors configured there are tried before the registry itself. Progress goes to stderr; the image ID is printed on stdout.',
    examples: [
      ['Pull the latest alpine', 'tspod pull alpine'],
      ['Pull by digest', 'tspod pull docker.io/library/alpine@sha256:...'],
      ['Pull another platform', 'tspod pull --platform linux/arm64 alpine'],
      ['Pull from a registry without TLS', 'tspod pull --tls-verify=false localhost:5000/app:1'],
      ['Pull every tag of a repository', 'tspod pull -a localhost:5000/app'],
    ],
  });

  allTags = Option.Boolean('-a,--all-tags', false, { description: 'Pull all tagged images in the repository' });
  platform = Option.String('--platform', { description: 'Platform to pull (os/arch[/variant]); default the host' });
  arch = Option.String('--arch', { description: 'Architecture to pull, overriding the host' });
  os = Option.String('--os', { description: 'Operating system to pull, overriding the host' });
  variant = Option.String('--variant', { description: 'Architecture variant to pull' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress progress output' });
  tlsVerify = Option.String('--tls-verify', { tolerateBoolean: true, description: 'Require HTTPS and verify certificates (default from registries.conf)' });
  authfile = Option.String('--authfile', { description: 'Path of the authentication file' });
  creds = Option.String('--creds', { description: 'Credentials (USERNAME[:PASSWORD]) for the registry' });
  names = Option.Rest({ required: 1 });

  private platformFlag(): string | undefined {
    if (this.platform) return this.platform;
    if (!this.arch && !this.os && !this.variant) return undefined;
    const hostArch = process.arch === 'x64' ? 'amd64' : process.arch;
    return [this.os ?? 'linux', this.arch ?? hostArch, this.variant].filter(Boolean).join('/');
  }

  async run(): Promise<number> {
    const { Engine } = await import('../../pkg/engine/engine');
    const { pullImage, pullAllTags } = await import('../../pkg/image/image-pull');
    const engine = new Engine(this.config());
    const opts = {
      platform: this.platformFlag(),
      tlsVerify: parseTlsVerify(this.tlsVerify),
      credentials: parseCreds(this.creds),
      authStore: { authFile: this.authfile, runtimeDir: engine.config.runtimeDir },
      listener: transferDisplay(this.quiet),
    };
    try {
      for (const name of this.names) {
        const pulled = this.allTags ? await pullAllTags(engine, name, opts) : [await pullImage(engine, name, opts)];
        for (const p of pulled) this.out(`${p.image.id.replace(/^sha256:/, '')}\n`);
      }
    } finally {
      engine.close();
    }
    return 0;
  }
}
