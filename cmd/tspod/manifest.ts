// `tspod manifest create|add|annotate|inspect|push|rm|remove|exists`: local manifest lists as
// Podman has them (pkg/image/manifest-list.ts), pushed with their images.
import * as fs from 'node:fs';
import { Command, Option } from 'clipanion';
import { parseAnnotations } from '../../pkg/container/create-flags';
import { InvalidArgumentError, NotFoundError } from '../../pkg/errors';
import type { Engine } from '../../pkg/engine/engine';
import type { InstanceOptions } from '../../pkg/image/manifest-list';
import { TspodCommand } from './tspod-command';
import { errorsText } from './image-remove';
import { readCertDir } from './image-push';
import { parseCreds, parseTlsVerify } from './registry-flags';
import { transferDisplay } from './transfer-display';

/** Comma-separated lists, repeatable (`--features a,b --features c`). */
function splitList(values: string[] | undefined): string[] | undefined {
  return values?.length ? values.flatMap((v) => v.split(',')).filter((v) => v !== '') : undefined;
}

/** The flags that reach a registry (add, create, inspect). */
abstract class RegistryManifestCommand extends TspodCommand {
  tlsVerify = Option.String('--tls-verify', { tolerateBoolean: true, description: 'Require HTTPS and verify certificates (default from registries.conf)' });
  authfile = Option.String('--authfile', { description: 'Path of the authentication file' });
  creds = Option.String('--creds', { description: 'Credentials (USERNAME[:PASSWORD]) for the registry' });

  protected access(engine: Engine) {
    return { tlsVerify: parseTlsVerify(this.tlsVerify), credentials: parseCreds(this.creds), authStore: { authFile: this.authfile, runtimeDir: engine.config.runtimeDir } };
  }
}

/** Platform and annotation flags of add and annotate. */
abstract class InstanceFlagsCommand extends RegistryManifestCommand {
  annotation = Option.Array('--annotation', { description: 'Set an annotation KEY=VALUE on the instance' });
  arch = Option.String('--arch', { description: 'Override the architecture of the instance' });
  os = Option.String('--os', { description: 'Override the OS of the instance' });
  variant = Option.String('--variant', { description: 'Override the architecture variant of the instance' });
  osVersion = Option.String('--os-version', { description: 'Override the OS version of the instance' });
  osFeatures = Option.Array('--os-features', { description: 'Override the OS features of the instance' });
  features = Option.Array('--features', { description: 'Override the features of the instance' });

  protected instanceOptions(): InstanceOptions {
    return {
      arch: this.arch,
      os: this.os,
      variant: this.variant,
      osVersion: this.osVersion,
      osFeatures: splitList(this.osFeatures),
      features: splitList(this.features),
      annotations: this.annotation?.length ? parseAnnotations(this.annotation) : undefined,
    };
  }
}

export class ManifestCreateCommand extends RegistryManifestCommand {
  static override paths = [['manifest', 'create']];
  static override usage = Command.Usage({
    description: 'Create a manifest list',
    details:
      'Creates the local manifest list LIST and adds each IMAGE to it, as `manifest add` does: a local image, or a remote one (`docker://` forces the registry). For an IMAGE that is itself a list, only the instance for this host is added, or all of them with --all. Prints the ID of the list.',
    examples: [
      ['Create an empty list', 'tspod manifest create myapp'],
      ['A list of every platform of a remote image', 'tspod manifest create --all myapp docker://quay.io/team/app:1'],
    ],
  });

  all = Option.Boolean('--all', false, { description: 'Add every instance of images that are lists' });
  list = Option.String({ name: 'LIST' });
  images = Option.Rest({ name: 'IMAGE' });

  async run(): Promise<number> {
    const { addToList, createList } = await import('../../pkg/image/manifest-list');
    return this.withEngine(async (engine) => {
      const list = createList(engine, this.list);
      try {
        for (const image of this.images) await addToList(engine, list.id, image, { all: this.all, ...this.access(engine) });
      } catch (err) {
        engine.images.delete(list.id); // no half-made list left behind
        throw err;
      }
      this.out(`${list.id.slice(7)}\n`);
      return 0;
    });
  }
}

export class ManifestAddCommand extends InstanceFlagsCommand {
  static override paths = [['manifest', 'add']];
  static override usage = Command.Usage({
    description: 'Add an image to a manifest list',
    details:
      'Adds IMAGE to the local manifest list LIST: a local image (by name or ID, or `containers-storage:NAME`), else the image in its registry (`docker://` forces the registry). The platform comes from the image\'s config (or the remote list); --arch, --os, --variant, --os-version, --os-features, --features and --annotation override it. For an IMAGE that is itself a list, the instance for this host is added, or every instance with --all. Prints the ID of the list.',
    examples: [
      ['Add a local image', 'tspod manifest add myapp localhost/myapp-arm64'],
      ['Add every platform of a remote image', 'tspod manifest add --all myapp docker://docker.io/library/alpine'],
      ['Add with an explicit platform', 'tspod manifest add --arch arm64 --variant v8 myapp myapp-arm64'],
    ],
  });

  all = Option.Boolean('--all', false, { description: 'Add every instance of an image that is a list' });
  certDir = Option.String('--cert-dir', { hidden: true });
  list = Option.String({ name: 'LIST' });
  image = Option.String({ name: 'IMAGE' });

  async run(): Promise<number> {
    const { addToList } = await import('../../pkg/image/manifest-list');
    return this.withEngine(async (engine) => {
      const id = await addToList(engine, this.list, this.image, { all: this.all, ...this.instanceOptions(), ...this.access(engine) });
      this.out(`${id.slice(7)}\n`);
      return 0;
    });
  }
}

export class ManifestAnnotateCommand extends InstanceFlagsCommand {
  static override paths = [['manifest', 'annotate']];
  static override usage = Command.Usage({
    description: 'Add or update information about an entry in a manifest list',
    details:
      'Changes the platform or annotations of one instance of LIST, named by its digest (see `tspod manifest inspect`) or by the local image it was added from. With --index the annotations go on the list itself (which then becomes an OCI index). Prints the ID of the list.',
    examples: [
      ['Set the variant of an instance', 'tspod manifest annotate --variant v7 myapp sha256:0123...'],
      ['Annotate the list itself', 'tspod manifest annotate --index --annotation org.opencontainers.image.source=https://example.com myapp'],
    ],
  });

  index = Option.Boolean('--index', false, { description: 'Annotate the list itself, not one instance' });
  list = Option.String({ name: 'LIST' });
  instance = Option.String({ name: 'IMAGE', required: false });

  async run(): Promise<number> {
    const { annotateList } = await import('../../pkg/image/manifest-list');
    return this.withEngine(async (engine) => {
      const id = annotateList(engine, this.list, this.instance, this.instanceOptions(), this.index);
      this.out(`${id.slice(7)}\n`);
      return 0;
    });
  }
}

export class ManifestInspectCommand extends RegistryManifestCommand {
  static override paths = [['manifest', 'inspect']];
  static override usage = Command.Usage({
    description: 'Display the contents of a manifest list or image manifest',
    details: 'Prints the JSON document of a local manifest list, or of the manifest or list a registry serves for the reference when no local list has that name.',
    examples: [
      ['A local list', 'tspod manifest inspect myapp'],
      ['A remote image', 'tspod manifest inspect docker.io/library/alpine:latest'],
    ],
  });

  verbose = Option.Boolean('-v,--verbose', false, { hidden: true });
  insecure = Option.Boolean('--insecure', false, { description: 'Allow plain HTTP and unverified certificates (Docker\'s flag; same as --tls-verify=false)' });
  name = Option.String({ name: 'LIST|IMAGE' });

  async run(): Promise<number> {
    const { inspectManifest } = await import('../../pkg/image/manifest-list');
    return this.withEngine(async (engine) => {
      const access = this.access(engine);
      if (this.insecure) access.tlsVerify = false;
      const doc = await inspectManifest(engine, this.name, access);
      this.out(`${JSON.stringify(doc, null, 4)}\n`);
      return 0;
    });
  }
}

export class ManifestPushCommand extends RegistryManifestCommand {
  static override paths = [['manifest', 'push']];
  static override usage = Command.Usage({
    description: 'Push a manifest list to a registry',
    details:
      'Pushes the images of LIST (local images as `push` pushes them, remote ones copied from their registry) and then the list itself to DESTINATION (default: the name of the list). --all=false pushes only the list. --format converts the list (and images that need it) to oci or v2s2. --rm removes the local list after a successful push. Progress goes to stderr.',
    examples: [
      ['Push a list and its images', 'tspod manifest push myapp quay.io/team/myapp:1'],
      ['As an OCI index, then remove the local list', 'tspod manifest push --format oci --rm myapp localhost:5000/myapp'],
    ],
  });

  all = Option.Boolean('--all', true, { description: 'Push the images of the list too (default true)' });
  format = Option.String('-f,--format', { description: 'Manifest type of the list and its images: oci or v2s2' });
  rm = Option.Boolean('--rm', false, { description: 'Remove the local list after pushing it' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress progress output' });
  digestfile = Option.String('--digestfile', { description: 'Write the digest of the pushed list to this file' });
  certDir = Option.String('--cert-dir', { description: 'Directory with the registry\'s CA certificates (*.crt)' });
  removeSignatures = Option.Boolean('--remove-signatures', false, { description: 'Do not copy signatures (tspod keeps none)' });
  list = Option.String({ name: 'LIST' });
  destination = Option.String({ name: 'DESTINATION', required: false });

  async run(): Promise<number> {
    const { pushManifestList } = await import('../../pkg/image/manifest-list-push');
    const { requireList } = await import('../../pkg/image/manifest-list');
    const { parseManifestFormat } = await import('../../pkg/image/manifest-format');
    return this.withEngine(async (engine) => {
      const result = await pushManifestList(engine, this.list, this.destination, {
        all: this.all,
        format: this.format === undefined ? undefined : parseManifestFormat(this.format),
        ...this.access(engine),
        ca: readCertDir(this.certDir),
        listener: transferDisplay(this.quiet),
      });
      if (this.digestfile !== undefined) fs.writeFileSync(this.digestfile, result.digest);
      if (this.rm) engine.images.delete(requireList(engine, this.list).id);
      return 0;
    });
  }
}

export class ManifestRmCommand extends TspodCommand {
  static override paths = [['manifest', 'rm']];
  static override usage = Command.Usage({
    description: 'Remove manifest lists from local storage',
    details: 'Removes each LIST (not the images it refers to). Removes what it can, reports each failure, and exits 1 when a list was not found.',
    examples: [['Remove a list', 'tspod manifest rm myapp']],
  });

  lists = Option.Rest({ name: 'LIST', required: 1 });

  async run(): Promise<number> {
    const { requireList } = await import('../../pkg/image/manifest-list');
    return this.withEngine(async (engine) => {
      const failures: string[] = [];
      let code = 0;
      for (const name of this.lists) {
        try {
          const list = requireList(engine, name);
          engine.images.delete(list.id);
          this.out(list.names.map((n) => `Untagged: ${n}\n`).join('') + `Deleted: ${list.id.slice(7)}\n`);
        } catch (err) {
          if (!(err instanceof NotFoundError || err instanceof InvalidArgumentError)) throw err;
          failures.push(err instanceof NotFoundError ? `${name}: image not known` : err.message);
          code = err instanceof NotFoundError && code === 0 ? 1 : 125;
        }
      }
      process.stderr.write(errorsText(failures));
      return code;
    });
  }
}

export class ManifestRemoveCommand extends TspodCommand {
  static override paths = [['manifest', 'remove']];
  static override usage = Command.Usage({
    description: 'Remove an entry from a manifest list',
    details: 'Drops the instance DIGEST (see `tspod manifest inspect`) from LIST and prints the ID of the list.',
    examples: [['Drop an instance', 'tspod manifest remove myapp sha256:0123...']],
  });

  list = Option.String({ name: 'LIST' });
  digest = Option.String({ name: 'DIGEST' });

  async run(): Promise<number> {
    const { removeFromList } = await import('../../pkg/image/manifest-list');
    return this.withEngine(async (engine) => {
      this.out(`${removeFromList(engine, this.list, this.digest).slice(7)}\n`);
      return 0;
    });
  }
}

export class ManifestExistsCommand extends TspodCommand {
  static override paths = [['manifest', 'exists']];
  static override usage = Command.Usage({
    description: 'Check if a manifest list exists in local storage',
    details: 'Exits 0 when LIST is a local manifest list and 1 when it is not; prints nothing.',
    examples: [['Create a list unless it exists', 'tspod manifest exists myapp || tspod manifest create myapp']],
  });

  list = Option.String({ name: 'LIST' });

  async run(): Promise<number> {
    const { findImage } = await import('../../pkg/image/image-lookup');
    const { isManifestList } = await import('../../pkg/image/manifest-list');
    return this.withEngine(async (engine) => {
      const image = findImage(engine.images, this.list, engine.config.registries);
      return image && isManifestList(image) ? 0 : 1;
    });
  }
}

export const MANIFEST_COMMANDS = [
  ManifestCreateCommand,
  ManifestAddCommand,
  ManifestAnnotateCommand,
  ManifestInspectCommand,
  ManifestPushCommand,
  ManifestRmCommand,
  ManifestRemoveCommand,
  ManifestExistsCommand,
];
