// `npm run build:snapshot`: bundles each start-up snapshot's entry with esbuild and builds its
// blob, which the launcher runs node from (a command then starts without loading ~150 modules):
// dist/tspod.blob for every command (cmd/tspod/snapshot-entry.ts), and two with smaller heaps:
// dist/tspod-daily.blob for the daily container commands (the same entry, fewer command
// modules) and dist/tspod-listing.blob for `images` and `version`
// (cmd/tspod/snapshot-listing-entry.ts). See SNAPSHOTS.
// dist/<blob>.node records which node binary built it and with which V8 flags
// ("SIZE MTIME FLAGS..."): a blob only loads in the very node that wrote it, given the same
// flags, so the launcher falls back to the full blob, then to dist/cmd/tspod/main.js, when
// either differs or the blob is missing.
// Never fails the build: without esbuild or on a node that cannot build snapshots, tspod simply
// starts from main.js.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { rewriteBundle } = require('./snapshot-bundle-rewrite');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
// V8 flags the blob is built with, and that node must be given again to load it (a blob built
// with other flags makes node exit 14): native/launcher.c passes the same words and compares
// the stamp's copy of them. --no-rehash-snapshot: by default every start rehashes each string of
// the heap with a fresh random seed, ~8 ms of every command here; without it the seed baked in
// when the blob was built, random per build, stays (tspod parses no untrusted input in bulk
// that could exploit a known seed to flood a hash table).
const NODE_FLAGS = ['--no-rehash-snapshot'];

function skip(why) {
  for (const { blob } of SNAPSHOTS) {
    fs.rmSync(blob, { force: true });
    fs.rmSync(`${blob}.node`, { force: true });
  }
  process.stderr.write(`build-snapshot: ${why}; tspod will start from dist/cmd/tspod/main.js\n`);
  process.exit(0);
}

// Modules initialized while the snapshot is built, with everything they import. Commands
// import their modules lazily (so a start from main.js loads only what it needs); in the bundle
// those imports become initializers that otherwise run at every start, 15-20 ms for `run`. But
// each initialized module also enlarges the heap every start deserializes (all of them: +1 MB,
// +10 ms even for `version`), so only the daily paths are here: run/create/start/stop/rm/exec,
// ps/logs/inspect, images and pull.
const PRELOADED = [
  'pkg/engine/engine.ts',
  'pkg/container/container-config.ts',
  'pkg/container/container-create.ts',
  'pkg/container/container-exec.ts',
  'pkg/container/container-exit.ts',
  'pkg/container/container-inspect.ts',
  'pkg/container/container-list.ts',
  'pkg/container/container-logs.ts',
  'pkg/container/container-paths.ts',
  'pkg/container/container-remove.ts',
  'pkg/container/container-start.ts',
  'pkg/container/container-stop.ts',
  'pkg/container/container-store.ts',
  'pkg/container/create-flags.ts',
  'pkg/container/log-config.ts',
  'pkg/container/restart-policy.ts',
  'pkg/image/image-filters.ts',
  'pkg/image/image-list.ts',
  'pkg/image/image-lookup.ts',
  'pkg/image/image-pull.ts',
  'pkg/network/user-networks.ts',
  'pkg/runtime/monitor-client.ts',
  'pkg/runtime/oci-runtime.ts',
];

// The blobs and what each holds. Of the command modules cmd/tspod/commands.ts imports, a blob
// may keep only some (`commandModules`): its bundle is then smaller, and so is the heap every
// start deserializes (the source text and a function record per function in it). The launcher
// runs each command word from the blob that holds its modules (DAILY_COMMANDS and
// LISTING_COMMANDS in native/launcher.c), any other from tspod.blob, which holds them all.
// The daily one measured 2-4 ms (CPU) faster than the complete one for ps and rm; the listing
// one, a third of the bundle and without PRELOADED, 8-12 ms faster for images and version.
const DAILY_COMMAND_MODULES = [
  './container-attach',
  './container-commit',
  './container-cp',
  './container-diff',
  './container-exec',
  './container-export',
  './container-inspect',
  './container-lifecycle',
  './container-logs',
  './container-misc',
  './container-prune',
  './container-ps',
  './container-run',
  './container-stats',
  './healthcheck',
  './image-list',
  './image-pull',
  './image-remove',
  './image-tag',
  './inspect',
  './version',
];
// A container start (`run`, `create`, `start`) deserializes only what it uses: not the listing,
// log, inspect and pull modules the daily blob initializes for its other commands.
const RUN_PRELOADED = PRELOADED.filter(
  (f) => !['pkg/container/container-inspect.ts', 'pkg/container/container-list.ts', 'pkg/container/container-logs.ts', 'pkg/container/container-exec.ts', 'pkg/image/image-filters.ts', 'pkg/image/image-list.ts', 'pkg/image/image-pull.ts'].includes(f),
);
const SNAPSHOTS = [
  { entry: 'cmd/tspod/snapshot-entry.ts', bundle: 'tspod-snapshot.js', blob: path.join(dist, 'tspod.blob'), preloaded: PRELOADED },
  {
    entry: 'cmd/tspod/snapshot-entry.ts',
    bundle: 'tspod-daily.js',
    blob: path.join(dist, 'tspod-daily.blob'),
    preloaded: PRELOADED,
    commandModules: DAILY_COMMAND_MODULES,
  },
  {
    entry: 'cmd/tspod/snapshot-run-entry.ts',
    bundle: 'tspod-run.js',
    blob: path.join(dist, 'tspod-run.blob'),
    preloaded: RUN_PRELOADED,
    commandModules: ['./container-run', './container-lifecycle'],
  },
  {
    entry: 'cmd/tspod/snapshot-listing-entry.ts',
    bundle: 'tspod-listing.js',
    blob: path.join(dist, 'tspod-listing.blob'),
    preloaded: [],
    commandModules: ['./image-list', './version'],
  },
];

const COMMAND_TABLE = path.join(root, 'cmd', 'tspod', 'commands.ts');

/** An esbuild plugin: the modules cmd/tspod/commands.ts imports for its command groups are
 * bundled only when in `kept`; any other becomes a module whose loading fails with an internal
 * error (the launcher never starts the other commands from this blob). */
function onlyCommandModules(kept) {
  const namespace = 'not-in-this-snapshot';
  return {
    name: 'only-command-modules',
    setup(build) {
      build.onResolve({ filter: /^\.\// }, (args) => {
        if (args.kind !== 'dynamic-import' || args.importer !== COMMAND_TABLE || kept.includes(args.path)) return undefined;
        return { path: args.path, namespace };
      });
      build.onLoad({ filter: /.*/, namespace }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`internal error: the command module ${args.path} is not in this start-up snapshot; run with TSPOD_NO_SNAPSHOT=1 and report it`)});`,
        loader: 'js',
      }));
    },
  };
}

let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  skip('esbuild is not installed (a devDependency)');
}

/** The entry with its preloads, as one bundle rewritten for the snapshot (its path). */
async function bundleFor({ entry, bundle, preloaded, commandModules }) {
  const outfile = path.join(dist, 'snapshot', bundle);
  const imports = [...preloaded.filter((f) => fs.existsSync(path.join(root, f))), entry].map((f) => `import './${f}';`);
  try {
    await esbuild.build({
      stdin: { contents: imports.join('\n'), resolveDir: root, sourcefile: 'snapshot-preload.ts', loader: 'ts' },
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // The bundle's text lives in the snapshot heap, which every start deserializes: no comments
      // or indentation, and ASCII only (one non-ASCII character makes V8 store it all two bytes
      // per character). Names stay, for stack traces and error messages.
      minifyWhitespace: true,
      minifySyntax: true,
      charset: 'ascii',
      logLevel: 'error',
      plugins: commandModules ? [onlyCommandModules(commandModules)] : [],
    });
  } catch (err) {
    skip(`bundling ${entry} failed: ${err.message.split('\n')[0]}`);
  }
  try {
    fs.writeFileSync(outfile, rewriteBundle(fs.readFileSync(outfile, 'utf8')));
  } catch (err) {
    skip(`rewriting the bundle of ${entry} failed: ${err.message}`);
  }
  return outfile;
}

async function buildSnapshot(snapshot) {
  const bundle = await bundleFor(snapshot);
  const tmp = `${snapshot.blob}.tmp`;
  const built = spawnSync(process.execPath, ['--snapshot-blob', tmp, ...NODE_FLAGS, '--build-snapshot', bundle], { encoding: 'utf8' });
  if (built.status !== 0) {
    fs.rmSync(tmp, { force: true });
    skip(`node --build-snapshot ${path.basename(bundle)} failed: ${(built.stderr || built.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`);
  }
  const node = fs.statSync(process.execPath);
  fs.renameSync(tmp, snapshot.blob);
  fs.writeFileSync(`${snapshot.blob}.node`, `${node.size} ${Math.floor(node.mtimeMs / 1000)} ${NODE_FLAGS.join(' ')}\n`);
}

(async () => {
  for (const snapshot of SNAPSHOTS) await buildSnapshot(snapshot);
})();
