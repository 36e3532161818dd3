// A training run for the start-up snapshot (snapshot-entry.ts runs it at build time): V8
// compiles a function the first time it is called, and functions compiled before the snapshot
// is taken are stored compiled. So the common paths every listing or container command takes
// (the parser, TOML config files, table and template output) run here once, on made-up data,
// touching nothing of the machine but one temporary file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMMAND_GROUPS } from './commands';
import { matchedPath, parserFor, typedClasses } from './command-parser';
import { formatRows, plainTable } from './list-output';
import { loadMerged } from '../../pkg/config/toml-files';
import { humanSize, timeAgo } from '../../pkg/format/human-units';

const COMMAND_LINES = [
  ['ps', '-a', '--format', '{{.Names}}'],
  ['images', '--no-trunc'],
  ['run', '--rm', '-e', 'A=B', '-v', '/a:/b', 'image', 'cmd'],
];

const CONFIG_SAMPLE = `# a comment
[containers]
env = ["A=B"]
log_size_max = -1

[engine]
runtime = "runc"
[engine.runtimes]
runc = ["/usr/bin/runc"]
`;

async function parseCommandLines(): Promise<void> {
  for (const line of COMMAND_LINES) {
    const classes = await COMMAND_GROUPS[line[0]].load();
    // The parser the command line will use, kept (see parserFor): compiled and folded along
    // this line in the snapshot.
    parserFor(typedClasses(classes, matchedPath(classes, line))).process(line);
  }
}

function readConfigFile(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-snapshot-'));
  try {
    const file = path.join(dir, 'containers.conf');
    fs.writeFileSync(file, CONFIG_SAMPLE);
    loadMerged([file, path.join(dir, 'missing.conf')]);
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

export async function trainCommonPaths(): Promise<void> {
  await parseCommandLines();
  readConfigFile();
  await formatOutput();
}
