// A training run for the start-up snapshots (snapshot-setup.ts runs it at build time): V8
// compiles a function the first time it is called, and functions compiled before the snapshot
// is taken are stored compiled. So the common paths every listing or container command takes
// (global flags, the parser, the engine configuration from TOML files, images' rows, table and
// template output) run here once, on made-up data, touching nothing of the machine but one
// temporary directory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cli, Command } from 'clipanion';
import { main } from './cli';
import { COMMAND_GROUPS } from './commands';
import { restoreUserEnv } from './launcher-env';
import { compileOnly, method } from './snapshot-compile-only';
import { matchedPath, parserFor, typedClasses } from './command-parser';
import { formatRows, plainTable } from './list-output';
import { loadMerged } from '../../pkg/config/toml-files';
import { EngineConfig, loadEngineConfig } from '../../pkg/config/engine-config';
import { DEFAULT_COLUMNS, IMAGE_HEADERS, listImages, rowView, summarizeImages } from '../../pkg/image/image-list';
import { ImageRecord } from '../../pkg/image/image-store';
import { splitGlobalFlags } from './global-flags';
import { humanSize, timeAgo } from '../../pkg/format/human-units';

const CONFIG_SAMPLE = `# a comment
[containers]
env = ["A=B"]
log_size_max = -1

[engine]
runtime = "runc"
[engine.runtimes]
runc = ["/usr/bin/runc"]
`;

async function parseCommandLines(commandLines: readonly string[][]): Promise<void> {
  for (const line of commandLines) {
    const classes = await COMMAND_GROUPS[line[0]].load();
    // The parser the command line will use, kept (see parserFor): compiled and folded along
    // this line in the snapshot.
    parserFor(typedClasses(classes, matchedPath(classes, line))).process(line);
  }
}

/** More training that needs a temporary directory and an engine configuration in it. */
export type DirTraining = (dir: string, config: EngineConfig) => Promise<void>;

/** The configuration every command loads (all of it from the sample file: the environment
 * points every config path and directory into the temporary one), then `more` in that directory. */
async function readConfigFile(more?: DirTraining): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-snapshot-'));
  try {
    const file = path.join(dir, 'containers.conf');
    fs.writeFileSync(file, CONFIG_SAMPLE);
    loadMerged([file, path.join(dir, 'missing.conf')]);
    const inDir = { HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, _TSPOD_ROOTLESS: '1', _TSPOD_HOST_UID: '1000', _TSPOD_HOST_GID: '1000', _TSPOD_RUNTIME_DIR: dir };
    const config = loadEngineConfig({}, { ...inDir, CONTAINERS_CONF: file, CONTAINERS_STORAGE_CONF: file, CONTAINERS_REGISTRIES_CONF: file });
    if (more) await more(dir, config);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function formatOutput(): Promise<void> {
  const rows = Array.from({ length: 20 }, (_, i) => ({ ID: `id${i}`, Names: `name-${i}`, Size: humanSize(i * 1_000_003), Created: timeAgo(Date.now() - i * 3_600_000) }));
  const headers = { ID: 'CONTAINER ID', Names: 'NAMES', Size: 'SIZE', Created: 'CREATED' };
  plainTable(['ID', 'Names', 'Size', 'Created'], headers, rows);
  for (const format of ['table {{.ID}}\t{{.Names}}', '{{.ID}} {{.Size | upper}}', 'json']) {
    await formatRows(format, rows, headers, { defaultFormat: 'table {{.ID}}' });
  }
}

/** What `images` makes of the store's records (two made up): summaries, rows, the table. */
function listImageRecords(): void {
  const records: ImageRecord[] = [0, 1].map((i) => ({
    id: `sha256:${String(i).repeat(64)}`,
    topLayer: null,
    config: Buffer.from('{"config":{"Labels":{"a":"b"}}}'),
    manifest: null,
    manifestMediaType: null,
    manifestDigest: null,
    size: 1_000_000 * (i + 1),
    created: 1_700_000_000_000 + i,
    added: 1_700_000_000_000 + i,
    parent: null,
    names: [`docker.io/library/x${i}:latest`],
    digests: [],
    extra: {},
  }));
  const rows = listImages(summarizeImages(records, new Map())).map((entry) => rowView(entry, { now: 1_800_000_000_000 }));
  plainTable(DEFAULT_COLUMNS, IMAGE_HEADERS, rows);
}

/** Runs the common paths, with the parsers of these command lines (each kept compiled), and
 * `more` (an entry's own training, such as snapshot-start-training.ts). */
export async function trainCommonPaths(commandLines: readonly string[][], more?: DirTraining): Promise<void> {
  splitGlobalFlags(['--log-level', 'info', 'ps', '-a']);
  restoreUserEnv({});
  // Every command's way from the command line to its run(), which only runs for real.
  await compileOnly([main, method(Cli, 'run'), method(Command, 'validateAndExecute')]);
  await parseCommandLines(commandLines);
  listImageRecords();
  await readConfigFile(more);
  await formatOutput();
}
