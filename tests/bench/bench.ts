// `npm run bench`'s runner (tests/bench/run.sh starts it as the test user, after provisioning):
// times each operation of operations.ts for tspod and Podman, alternating the two so that
// drifting machine load hits both alike, and prints medians against each operation's target.
// It reports; it never fails the run for a missed target.
//   node dist/tests/bench/bench.js [WORD...]   (operations whose name contains a word; all without)     BENCH_RUNS=N (default 15)
import { spawnSync } from 'node:child_process';
import { Operation, operations, PODMAN_GLOBAL_FLAGS, Target } from './operations';

interface SideResult {
  samples: number[];
  failure?: string;
}

interface Row {
  name: string;
  tspod: SideResult;
  podman?: SideResult;
  target?: Target;
}

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 15) || 15);
const COMMAND_TIMEOUT_MS = 300_000;

function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

/** Runs argv to completion; returns how long it took and, if it failed, why. */
function run(argv: string[]): { ms: number; failure?: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) return { ms, failure: `${argv.join(' ')}: ${r.error.message}` };
  if (r.status !== 0) {
    return { ms, failure: `${argv.join(' ')}: exit ${r.status ?? r.signal}: ${lastLines(r.stderr ?? '')}` };
  }
  return { ms };
}

function podmanArgv(args: string[]): string[] {
  return ['podman', ...PODMAN_GLOBAL_FLAGS, ...args];
}

function withGlobalFlags(argv: string[]): string[] {
  return argv[0] === 'podman' ? podmanArgv(argv.slice(1)) : argv;
}

/** One timed run of a side, after its setup; records a failure once and stops timing that side. */
function sample(side: SideResult, argv: string[], setup?: string[]): void {
  if (side.failure) return;
  if (setup) {
    const s = run(withGlobalFlags(setup));
    if (s.failure) {
      side.failure = `setup: ${s.failure}`;
      return;
    }
  }
  const r = run(argv);
  if (r.failure) side.failure = r.failure;
  else side.samples.push(r.ms);
}

function measure(op: Operation): Row {
  const tspod: SideResult = { samples: [] };
  const podman: SideResult = { samples: [] };
  const tspodArgv = op.wholeArgv ? op.tspod : ['tspod', ...op.tspod];
  const podmanArgvs = op.wholeArgv ? op.podman : podmanArgv(op.podman);
  // One untimed round first: the first call of each creates its user namespace and warms caches.
  sample({ samples: [] }, tspodArgv, op.setup?.tspod);
  sample({ samples: [] }, podmanArgvs, op.setup?.podman);
  for (let i = 0; i < RUNS; i++) {
    sample(tspod, tspodArgv, op.setup?.tspod);
    sample(podman, podmanArgvs, op.setup?.podman);
  }
  return { name: op.name, tspod, podman, target: op.target };
}

function measureBaseline(node: string): Row {
  const side: SideResult = { samples: [] };
  sample({ samples: [] }, [node, '-e', '0']);
  for (let i = 0; i < RUNS; i++) sample(side, [node, '-e', '0']);
  return { name: 'node -e 0 (baseline)', tspod: side };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function describeTarget(t: Target): string {
  switch (t.kind) {
    case 'ratio':
      return `<= ${t.max}x podman`;
    case 'overBaseline':
      return `<= node -e 0 + ${t.ms} ms`;
    case 'absolute':
      return `<= ${t.ms} ms`;
  }
}

function targetMet(t: Target, tspodMs: number, podmanMs: number | undefined, baselineMs: number | undefined): boolean | undefined {
  switch (t.kind) {
    case 'ratio':
      return podmanMs === undefined ? undefined : tspodMs <= t.max * podmanMs;
    case 'overBaseline':
      return baselineMs === undefined ? undefined : tspodMs <= baselineMs + t.ms;
    case 'absolute':
      return tspodMs <= t.ms;
  }
}

function medianOf(side: SideResult | undefined): number | undefined {
  return side && !side.failure && side.samples.length ? median(side.samples) : undefined;
}

function formatMs(side: SideResult | undefined): string {
  if (!side) return '-';
  const m = medianOf(side);
  return m === undefined ? 'failed' : m.toFixed(1);
}

function printTable(rows: Row[]): void {
  const baseline = medianOf(rows.find((r) => !r.target)?.tspod);
  const table = [['operation', 'tspod ms', 'podman ms', 'tspod/podman', 'target', 'met?']];
  for (const row of rows) {
    const t = medianOf(row.tspod);
    const p = medianOf(row.podman);
    const ratio = t !== undefined && p !== undefined ? (t / p).toFixed(2) : '-';
    let met = '-';
    if (row.target) {
      const verdict = t === undefined ? undefined : targetMet(row.target, t, p, baseline);
      met = verdict === undefined ? '?' : verdict ? 'yes' : 'NO';
    }
    table.push([row.name, formatMs(row.tspod), formatMs(row.podman), ratio, row.target ? describeTarget(row.target) : '-', met]);
  }
  const widths = table[0].map((_, col) => Math.max(...table.map((line) => line[col].length)));
  for (const line of table) {
    console.log(line.map((cell, col) => (col === 0 || col === 4 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join('  '));
  }
  for (const row of rows) {
    for (const [side, result] of [['tspod', row.tspod], ['podman', row.podman]] as const) {
      if (result?.failure) console.log(`${row.name} (${side}) failed: ${result.failure}`);
    }
  }
}

/** Operations whose name contains one of the words (`pull`, `ps -a`), all of them without words. */
function selectOperations(words: string[]): Operation[] {
  if (!words.length) return operations;
  const unknown = words.filter((word) => !operations.some((op) => op.name.includes(word)));
  if (unknown.length) {
    console.error(`no operation matches ${unknown.join(', ')} (have: ${operations.map((op) => op.name).join(', ')})`);
    process.exit(2);
  }
  return operations.filter((op) => words.some((word) => op.name.includes(word)));
}

function main(): void {
  const selected = selectOperations(process.argv.slice(2));
  const node = process.env.TSPOD_BENCH_NODE || process.execPath;
  console.log(`bench: ${RUNS} runs per side, alternating tspod and podman; medians in ms`);
  const rows = [measureBaseline(node)];
  for (const op of selected) {
    process.stdout.write(`bench: ${op.name}...\n`);
    rows.push(measure(op));
  }
  printTable(rows);
}

main();
