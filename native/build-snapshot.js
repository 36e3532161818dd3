// `npm run build:snapshot`: bundles cmd/tspod/snapshot-entry.ts with esbuild and builds
// dist/tspod.blob, the start-up snapshot the launcher runs node from (a command then starts
// without loading ~150 modules). dist/tspod.blob.node records which node binary built it and
// with which V8 flags ("SIZE MTIME FLAGS..."): a blob only loads in the very node that wrote it,
// given the same flags, so the launcher falls back to dist/cmd/tspod/main.js when either differs
// or the blob is missing.
// Never fails the build: without esbuild or on a node that cannot build snapshots, tspod simply
// starts from main.js.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { rewriteBundle } = require('./snapshot-bundle-rewrite');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const entry = path.join(root, 'cmd', 'tspod', 'snapshot-entry.ts');
const bundle = path.join(dist, 'snapshot', 'tspod-snapshot.js');
const blob = path.join(dist, 'tspod.blob');
const stamp = `${blob}.node`;
// V8 flags the blob is built with, and that node must be given again to load it (a blob built
// with other flags makes node exit 14): native/launcher.c passes the same words and compares
// the stamp's copy of them. --no-rehash-snapshot: by default every start rehashes each string of
// the heap with a fresh random seed, ~8 ms of every command here; without it the seed baked in
// when the blob was built, random per build, stays (tspod parses no untrusted input in bulk
// that could exploit a known seed to flood a hash table).
const NODE_FLAGS = ['--no-rehash-snapshot'];

function skip(why) {
  fs.rmSync(blob, { force: true });
  fs.rmSync(stamp, { force: true });
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
const preloads = PRELOADED.filter((f) => fs.existsSync(path.join(root, f))).map((f) => `import './${f}';`);

let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  skip('esbuild is not installed (a devDependency)');
}
try {
  esbuild.buildSync({
    stdin: { contents: [...preloads, `import './${path.relative(root, entry)}';`].join('\n'), resolveDir: root, sourcefile: 'snapshot-preload.ts', loader: 'ts' },
    outfile: bundle,
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
  });
} catch (err) {
  skip(`bundling failed: ${err.message.split('\n')[0]}`);
}

try {
  fs.writeFileSync(bundle, rewriteBundle(fs.readFileSync(bundle, 'utf8')));
} catch (err) {
  skip(`rewriting the bundle failed: ${err.message}`);
}
const tmp = `${blob}.tmp`;
const built = spawnSync(process.execPath, ['--snapshot-blob', tmp, ...NODE_FLAGS, '--build-snapshot', bundle], { encoding: 'utf8' });
if (built.status !== 0) {
  fs.rmSync(tmp, { force: true });
  skip(`node --build-snapshot failed: ${(built.stderr || built.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`);
}
const node = fs.statSync(process.execPath);
fs.renameSync(tmp, blob);
fs.writeFileSync(stamp, `${node.size} ${Math.floor(node.mtimeMs / 1000)} ${NODE_FLAGS.join(' ')}\n`);
