// `stats` as the unprivileged user (cgroup v1 here: the numbers come from the container's
// processes in /proc) and as root (from the container's own cgroup).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asRoot, asUser, image, resetUserState, tspod, spawnTspod, waitFor } from './harness';

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** "4.2MB" → 4200000 (Docker's decimal units). */
function bytes(text: string): number {
  const m = /^([\d.]+)([kMGT]?)B$/.exec(text.trim());
  assert.ok(m, `a size: ${text}`);
  return Number(m[1]) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 } as Record<string, number>)[m[2]];
}

function statsJson(args: string[]): Record<string, string>[] {
  return ok(['stats', '--no-stream', '--format', 'json', ...args])
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, string>);
}

describe('stats (rootless)', () => {
  let busyId = '';
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    // A CPU burner with a sleeping child; a writer that syncs 4 MiB to its root filesystem.
    busyId = ok(['run', '-d', '--name', 'st-busy', 'busybox', 'sh', '-c', 'sleep 1000 & while :; do :; done']).trim();
    ok(['run', '-d', '--name', 'st-io', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/big bs=1M count=4 conv=fsync 2>/dev/null; echo written; sleep 1000']);
    ok(['run', '-d', '--name', 'st-none', '--network', 'none', 'busybox', 'sleep', '1000']);
    ok(['create', '--name', 'st-created', 'busybox', 'true']);
  });
  after(() => {
    tspod(['rm', '-f', 'st-busy', 'st-io', 'st-none', 'st-created']);
  });

  test('the default table lists the running containers with Docker\'s columns', () => {
    const lines = ok(['stats', '--no-stream']).trimEnd().split('\n');
    assert.match(lines[0], /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    const names = lines.slice(1).map((l) => l.split(/\s+/)[1]).sort();
    assert.deepEqual(names, ['st-busy', 'st-io', 'st-none']);
    const busy = lines.find((l) => l.includes('st-busy')) as string;
    assert.ok(busy.startsWith(busyId.slice(0, 12)), busy);
  });

  test('CPU, memory and tasks of a busy container', () => {
    const [row] = statsJson(['st-busy']);
    assert.deepEqual(Object.keys(row), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
    assert.equal(row.Name, 'st-busy');
    assert.equal(row.Container, 'st-busy');
    assert.equal(row.PIDs, '2', 'sh and its sleep');
    assert.ok(Number(row.CPUPerc.replace('%', '')) > 20, `a busy loop uses CPU: ${row.CPUPerc}`);
    const [used, limit] = row.MemUsage.split(' / ');
    assert.match(used, /^[\d.]+(KiB|MiB)$/);
    assert.match(limit, /^[\d.]+(MiB|GiB|TiB)$/);
  });

  test('block I/O counts what the container wrote; network I/O what it sent', async () => {
    await waitFor(() => tspod(['logs', 'st-io']).stdout.includes('written'), 30_000, 'the 4 MiB write');
    const [io] = statsJson(['st-io']);
    // 4 MiB shows as "4.19MB" (three figures, decimal units): compare with what that reads back as.
    assert.ok(bytes(io.BlockIO.split(' / ')[1]) >= 4.19e6, io.BlockIO);
    const sentBefore = bytes(io.NetIO.split(' / ')[1]);
    tspod(['exec', 'st-io', 'sh', '-c', 'timeout 5 wget -q -O - http://10.0.2.2:1/ ; nslookup example.invalid 10.0.2.3']);
    const [after] = statsJson(['st-io']);
    assert.ok(bytes(after.NetIO.split(' / ')[1]) > sentBefore, `${io.NetIO} then ${after.NetIO}`);
    assert.equal(statsJson(['st-none'])[0].NetIO, '0B / 0B', 'only lo with --network none');
  });

  test('-a adds stopped containers with zero use; --no-trunc and templates', () => {
    const all = ok(['stats', '--no-stream', '-a', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}']).split('\n').filter(Boolean).sort();
    assert.ok(all.includes('st-created 0.00% 0B / 0B 0'), all.join('\n'));
    assert.equal(all.length, 4);
    assert.equal(ok(['stats', '--no-stream', '--no-trunc', '--format', '{{.ID}}', 'st-busy']), `${busyId}\n`);
    assert.equal(ok(['stats', '--no-stream', '--format', '{{.Container}}:{{.Name}}', busyId.slice(0, 8)]), `${busyId.slice(0, 8)}:st-busy\n`);
    assert.match(ok(['stats', '--no-stream', '--format', 'table {{.Name}}\t{{.PIDS}}', 'st-busy']), /^NAME\s+PIDS\nst-busy\s+2\n$/);
  });

  test('streaming prints a block per interval and Ctrl-C ends it cleanly', async () => {
    const child = spawnTspod(['stats', '--interval', '0.2', 'st-busy']);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await waitFor(() => (out.match(/^CONTAINER ID/gm) ?? []).length >= 3, 30_000, 'three blocks');
    child.kill('SIGINT');
    assert.equal(await code, 0);
    assert.doesNotMatch(out, /\x1b\[/, 'no terminal codes when stdout is not a terminal');
  });

  test('on a terminal each sample redraws the screen in place', () => {
    const r = asUser(['script', '-qec', 'timeout -s INT 1.5 tspod stats --interval 0.2 st-busy', '/dev/null'], { timeoutMs: 30_000 });
    assert.ok(r.stdout.startsWith('\x1b[2J\x1b[H'), JSON.stringify(r.stdout.slice(0, 40)));
    const frames = r.stdout.split('\x1b[H').length - 1;
    assert.ok(frames >= 2, `${frames} frames`);
    assert.match(r.stdout, /st-busy.*\x1b\[K\r?\n\x1b\[J/);
  });

  test('a missing container and a bad interval fail with 125', () => {
    const missing = tspod(['stats', '--no-stream', 'st-busy', 'st-missing']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /st-missing/);
    assert.equal(missing.stdout, '');
    assert.equal(tspod(['stats', '--interval', '0', 'st-busy']).code, 125);
    assert.equal(tspod(['stats', '--no-stream', '--format', '{{.Nope', 'st-busy']).code, 125);
  });
});

describe('stats as root', () => {
  const ref = image('busybox:latest').ref;
  const name = 'ctr-features-stats';
  const root = (args: string[]) => asRoot(['tspod', ...args], { timeoutMs: 120_000 });
  after(() => {
    root(['rm', '-f', name]);
  });

  test("the container's own cgroup gives its memory limit", () => {
    assert.equal(root(['pull', '-q', '--tls-verify=false', ref]).code, 0);
    root(['rm', '-f', name]);
    assert.equal(root(['run', '-d', '--name', name, '-m', '64m', ref, 'sh', '-c', 'sleep 1000 & wait']).code, 0);
    const r = root(['stats', '--no-stream', '--format', '{{.MemUsage}} {{.PIDs}}', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[\d.]+(B|KiB|MiB) \/ 64MiB 2\n$/);
  });
});
