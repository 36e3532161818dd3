// The base of every tspod command: the global flags as options (so they also work after the
// command name), lazy engine configuration, and one place where errors become exit codes.
import { Command, Option } from 'clipanion';
import type { EngineConfig, GlobalOptions } from '../../pkg/config/engine-config';

let leadingGlobals: GlobalOptions = {};
let typedArgs: string[] = [];

/** Set by main.ts with the global flags that stood before the command name, and every word typed. */
export function setLeadingGlobals(globals: GlobalOptions, argv: string[] = []): void {
  leadingGlobals = globals;
  typedArgs = argv;
}

/** The words after `tspod` as typed (process.argv differs when tspod starts from its snapshot). */
export function commandLine(): string[] {
  return typedArgs;
}

export abstract class TspodCommand extends Command {
  logLevel = Option.String('--log-level', { hidden: true });
  root = Option.String('--root', { hidden: true });
  runroot = Option.String('--runroot', { hidden: true });
  storageDriver = Option.String('--storage-driver', { hidden: true });
  runtime = Option.String('--runtime', { hidden: true });

  /** what execute() failed with, for main.ts to report (clipanion's own report is not ours) */
  failure: unknown;
  private engineConfig?: EngineConfig;

  /** The command's work; returns the exit code (default 0). */
  abstract run(): Promise<number | void>;

  async execute(): Promise<number> {
    return (await this.run()) ?? 0;
  }

  override async catch(error: unknown): Promise<void> {
    this.failure = error;
  }

  globals(): GlobalOptions {
    return {
      logLevel: this.logLevel ?? leadingGlobals.logLevel,
      root: this.root ?? leadingGlobals.root,
      runroot: this.runroot ?? leadingGlobals.runroot,
      storageDriver: this.storageDriver ?? leadingGlobals.storageDriver,
      runtime: this.runtime ?? leadingGlobals.runtime,
    };
  }

  config(): EngineConfig {
    // Loaded on first use: commands such as `version` never read the config files.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadEngineConfig } = require('../../pkg/config/engine-config') as typeof import('../../pkg/config/engine-config');
    this.engineConfig ??= loadEngineConfig(this.globals());
    return this.engineConfig;
  }

  /** Runs fn with an engine opened on this command's configuration, closing it afterwards. */
  async withEngine<T>(fn: (engine: import('../../pkg/engine/engine').Engine) => Promise<T>): Promise<T> {
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      return await fn(engine);
    } finally {
      engine.close();
    }
  }

  out(text: string): void {
    process.stdout.write(text);
  }
}
