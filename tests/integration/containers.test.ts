// The container lifecycle as the unprivileged user: run (attached, detached, --rm), exit
// codes, ps, logs, stop/start/kill/rm/wait, mounts and ownership, and a killed monitor.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asUser, resetUserState, testEnv, tspod, tspodAsync, waitFor } from './harness';

function run(args: string[], opts: { input?: string } = {}) {
  return tspod(['run', ...args], { timeoutMs: 120_000, ...opts });
}

function psNames(all = true): string[] {
  const r = tspod(['ps', ...(all ? ['-a'] : []), '--format', '{{.Names}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

describe('run', () => {
  before(() => {
    resetUserState();
    const r = tspod(['pull', '-q', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('run --rm prints the output and leaves nothing behind', () => {
    const r = run(['--rm', 'busybox', 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.deepEqual(psNames(), []);
  });

  test("the container's exit code is tspod's; 126 and 127 when the command cannot run", () => {
    assert.equal(run(['--rm', 'busybox', 'sh', '-c', 'exit 3']).code, 3);
    assert.equal(run(['--rm', 'busybox', 'false']).code, 1);
    const missing = run(['--rm', 'busybox', 'no-such-command']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /^Error: .*no-such-command.*not found/m);
    const notExec = run(['--rm', 'busybox', '/etc/passwd']);
    assert.equal(notExec.code, 126);
    assert.equal(run(['--rm', 'no-such-image-here']).code, 125);
    assert.equal(run(['--rm', '--bogus-flag', 'busybox']).code, 125);
    assert.deepEqual(psNames(), []);
  });

  test('--runtime runc works too, and a container keeps the runtime it was created with', () => {
    const hi = run(['--rm', '--runtime', 'runc', 'busybox', 'echo', 'hi']);
    assert.equal(hi.code, 0, hi.stderr);
    assert.equal(hi.stdout, 'hi\n');
    assert.equal(run(['--rm', '--runtime', 'runc', 'busybox', 'sh', '-c', 'exit 3']).code, 3);
    assert.equal(run(['--rm', '--runtime', 'runc', 'busybox', 'nosuchcommand']).code, 127);
    assert.equal(run(['--rm', '--runtime', 'runc', 'busybox', '/etc']).code, 126);
    // The default (crun) can read neither runc's state nor the reverse: every later command
    // must use the container's own runtime, whatever the default or --runtime says now.
    assert.equal(run(['-d', '--runtime', 'runc', '--name', 'by-runc', 'busybox', 'sleep', '1000']).code, 0);
    assert.equal(run(['-d', '--name', 'by-default', 'busybox', 'sleep', '1000']).code, 0);
    assert.equal(tspod(['inspect', '--format', '{{.OCIRuntime}}', 'by-runc', 'by-default']).stdout, 'runc\ncrun\n');
    assert.equal(tspod(['exec', 'by-runc', 'echo', 'in']).stdout, 'in\n');
    assert.equal(tspod(['exec', 'by-runc', 'nosuch']).code, 127);
    assert.equal(tspod(['--runtime', 'runc', 'exec', 'by-default', 'echo', 'in']).stdout, 'in\n');
    const stopped = tspod(['--runtime', 'crun', 'stop', '-t', '0', 'by-runc']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(tspod(['inspect', '--format', '{{.State.Status}}', 'by-runc']).stdout, 'exited\n');
    assert.equal(tspod(['rm', '-f', 'by-runc', 'by-default']).code, 0);
    assert.deepEqual(psNames(), []);
  });

  test('the runtime runs from a read-only mount of its binary in tspod\'s namespace, one per binary file', () => {
    assert.equal(run(['--rm', 'busybox', 'true']).code, 0);
    const crun = fs.statSync('/usr/bin/crun');
    const sealed = path.join(testEnv.runtimeDir, 'tspod', 'runtime-bin', `${crun.dev}-${crun.ino}`, 'crun');
    const mountinfo = tspod(['unshare', 'cat', '/proc/self/mountinfo']).stdout.split('\n');
    const line = mountinfo.find((l) => l.split(' ')[4] === sealed);
    assert.ok(line, `no mount at ${sealed}`);
    assert.match(line.split(' ')[5], /^ro\b/);
    // Another binary of the same name (one the user owns, so only the mount keeps it from being
    // written) gets a mount of its own and runs.
    const copy = path.join(testEnv.home, 'other-runtime', 'crun');
    asUser(['sh', '-c', `mkdir -p ${path.dirname(copy)} && cp /usr/bin/crun ${copy}`]);
    const other = run(['--rm', '--runtime', copy, 'busybox', 'echo', 'other']);
    assert.equal(other.code, 0, other.stderr);
    assert.equal(other.stdout, 'other\n');
    const copied = fs.statSync(copy);
    const otherSealed = path.join(testEnv.runtimeDir, 'tspod', 'runtime-bin', `${copied.dev}-${copied.ino}`, 'crun');
    const write = tspod(['unshare', 'sh', '-c', `: >> ${otherSealed}`]);
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /read-only/i);
    assert.equal(tspod(['unshare', 'sh', '-c', `: >> ${copy}`]).code, 0, 'the copy itself is writable');
    assert.equal(run(['--rm', 'busybox', 'echo', 'back']).stdout, 'back\n');
  });

  test('stdout and stderr stay apart, and both reach the log', () => {
    const r = run(['--name', 'streams', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const logs = tspod(['logs', 'streams']);
    assert.equal(logs.stdout, 'out\n');
    assert.equal(logs.stderr, 'err\n');
    assert.equal(tspod(['rm', 'streams']).code, 0);
  });

  test('-i passes stdin; -u and the image user resolve through /etc/passwd', () => {
    const cat = run(['--rm', '-i', 'busybox', 'cat'], { input: 'piped\n' });
    assert.equal(cat.stdout, 'piped\n');
    assert.equal(run(['--rm', '-u', 'tester', 'busybox', 'id']).stdout, 'uid=1000(tester) gid=1000(tester) groups=1000(tester),2000(extra)\n');
    assert.equal(run(['--rm', '-u', '1000:2000', 'busybox', 'id', '-g']).stdout, '2000\n');
    const bad = run(['--rm', '-u', 'nobody-here', 'busybox', 'id']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unable to find user nobody-here/);
  });

  test('env, workdir, hostname and entrypoint flags', () => {
    const r = run(['--rm', '-e', 'A=1', '-w', '/tmp', '-h', 'myhost', 'busybox', 'sh', '-c', 'echo $A $(pwd) $(hostname)']);
    assert.equal(r.stdout, '1 /tmp myhost\n');
    assert.equal(run(['--rm', '--entrypoint', 'echo', 'busybox', 'via', 'entrypoint']).stdout, 'via entrypoint\n');
  });

  test('a file written as uid 1000 in a bind mount is owned by the matching subuid on the host', () => {
    const dir = path.join(testEnv.home, 'bind-test');
    asUser(['rm', '-rf', dir]);
    asUser(['mkdir', '-p', dir]);
    const r = run(['--rm', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'echo root > /data/root.txt && su tester -s /bin/sh -c "echo t > /tmp/x" ; touch /data/t.txt && chown 1000:1000 /data/t.txt']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.statSync(path.join(dir, 'root.txt')).uid, testEnv.uid);
    assert.equal(fs.statSync(path.join(dir, 't.txt')).uid, testEnv.subuid.start + 999);
    const ro = run(['--rm', '-v', `${dir}:/data:ro`, 'busybox', 'touch', '/data/nope']);
    assert.notEqual(ro.code, 0);
    tspod(['unshare', 'rm', '-rf', dir]);
  });

  test('a named volume outlives its container', () => {
    assert.equal(run(['--rm', '-v', 'keep:/v', 'busybox', 'sh', '-c', 'echo kept > /v/f']).code, 0);
    assert.equal(run(['--rm', '-v', 'keep:/v', 'busybox', 'cat', '/v/f']).stdout, 'kept\n');
  });

  test('--read-only refuses writes to the root filesystem', () => {
    const r = run(['--rm', '--read-only', 'busybox', 'touch', '/etc/x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
  });

  test('containers reach the outside through slirp4netns (a DNS server and a route)', () => {
    const r = run(['--rm', 'busybox', 'sh', '-c', 'ip route | grep default; grep nameserver /etc/resolv.conf | head -1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /default via 10\.0\.2\.2 dev tap0/);
    assert.match(r.stdout, /nameserver 10\.0\.2\.3/);
    assert.equal(run(['--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ip -o link | wc -l']).stdout.trim(), '1');
  });
});

describe('lifecycle', () => {
  before(() => resetUserState());

  test('run -d, ps, logs, stop, start, rm', async () => {
    const d = run(['-d', '--name', 'svc', 'busybox', 'sh', '-c', 'echo started; trap "exit 0" TERM; while true; do sleep 0.1; done']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^[0-9a-f]{64}\n$/);
    assert.deepEqual(psNames(false), ['svc']);
    await waitFor(() => tspod(['logs', 'svc']).stdout === 'started\n', 10_000, 'the log line');
    const ps = tspod(['ps']).stdout;
    assert.match(ps, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/m);
    assert.match(ps, /docker\.io\/library\/busybox:latest .* Up .* svc$/m);
    assert.equal(tspod(['stop', 'svc']).stdout, 'svc\n');
    assert.equal(tspod(['ps', '-a', '--format', '{{.Status}}']).stdout.startsWith('Exited (0)'), true);
    assert.equal(tspod(['start', 'svc']).code, 0);
    assert.deepEqual(psNames(false), ['svc']);
    const rm = tspod(['rm', 'svc']);
    assert.equal(rm.code, 2, 'Podman\'s code for a running container without -f');
    assert.match(rm.stderr, /running.*cannot be removed without force/);
    assert.equal(tspod(['rm', '-f', 'svc']).code, 0);
    assert.deepEqual(psNames(), []);
  });

  test('kill gives 137, wait prints the code, and stop/kill/rm report each missing name', () => {
    assert.equal(run(['-d', '--name', 'victim', 'busybox', 'sleep', '1000']).code, 0);
    assert.equal(tspod(['kill', 'victim']).code, 0);
    assert.equal(tspod(['wait', 'victim']).stdout, '137\n');
    const r = tspod(['rm', 'victim', 'ghost']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /^[0-9a-f]{64}$/m);
    assert.match(r.stderr, /no container with name or ID "ghost"/);
  });

  test('20 containers started at once all run', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => tspodAsync(['run', '--rm', 'busybox', 'echo', `n${i}`], { timeoutMs: 180_000 })));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `n${i}\n`);
    });
    assert.deepEqual(psNames(), []);
  });

  test('short flags read as Docker reads them: stop -t0, logs -n1, ps -aq, run -dp', () => {
    assert.equal(run(['-dp', '127.0.0.1::80', '--name', 'glued', 'busybox', 'sh', '-c', 'echo one; echo two; exec sleep 1000']).code, 0);
    assert.deepEqual(psNames(false), ['glued']);
    const stop = tspod(['stop', '-t0', 'glued']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(tspod(['inspect', '--format', '{{.State.ExitCode}}', 'glued']).stdout.trim(), '137');
    assert.equal(tspod(['logs', '-n1', 'glued']).stdout, 'two\n');
    assert.equal(tspod(['ps', '-aqn1', '--no-trunc']).stdout.trim().length, 64);
    // A letter that is no flag is still refused, and the command after the image keeps its own.
    const bad = tspod(['rm', '-fx', 'glued']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unknown flag: -fx/);
    assert.equal(run(['--rm', 'busybox', 'sh', '-c', 'echo "$@"', 'sh', '-t0']).stdout, '-t0\n');
    assert.equal(tspod(['rm', '-fv', 'glued']).code, 0);
  });

  test('a --rm container\'s writable layer is mounted volatile (no sync at its unmount); a kept one is not, and starts again at once', () => {
    const volatileRoot = "awk '$5 == \"/\" && / - overlay / { print (/[,=]volatile/ ? \"volatile\" : \"durable\") }' /proc/self/mountinfo";
    assert.equal(run(['--rm', 'busybox', 'sh', '-c', volatileRoot]).stdout, 'volatile\n');
    const kept = run(['--name', 'durable', 'busybox', 'sh', '-c', volatileRoot]);
    assert.equal(kept.stdout, 'durable\n', kept.stderr);
    // Straight after the attached run: its exit is cleaned up by whoever comes first.
    const again = tspod(['start', '-a', 'durable']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'durable\n');
    assert.equal(tspod(['rm', 'durable']).code, 0);
  });

  test('stop of a detached --rm container succeeds even when its exit removes it first, and returns once it is removed', () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(run(['-d', '--rm', '--name', 'rm-stop', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait']).code, 0);
      const stop = tspod(['stop', 'rm-stop']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(stop.stdout, 'rm-stop\n');
      // Removed by the time stop returns, as Podman's stop does: the next run takes the name.
      assert.equal(tspod(['container', 'exists', 'rm-stop']).code, 1);
    }
  });

  test("rm and run --rm remove every file of the container, whoever owns it inside", () => {
    const homes = path.join(testEnv.home, '.local', 'share', 'tspod', 'containers');
    const runs = path.join(testEnv.runtimeDir, 'tspod', 'containers');
    const gone = (id: string): boolean => !fs.existsSync(path.join(homes, id)) && !fs.existsSync(path.join(runs, id));
    // Another owner, a directory nobody may read, a symlink out of the tree.
    const messy = 'mkdir -p /d/e && touch /d/e/f && chown -R 1000:1000 /d && chmod 000 /d/e && ln -s /etc /d/etc';
    const cidfile = path.join(testEnv.home, 'messy.cid');
    fs.rmSync(cidfile, { force: true });
    // run: removed by the launcher's helper server; rm: by node.
    const removed = run(['--rm', '--cidfile', cidfile, 'busybox', 'sh', '-c', messy]);
    assert.equal(removed.code, 0, removed.stderr);
    const first = fs.readFileSync(cidfile, 'utf8');
    assert.ok(gone(first), 'run --rm left files of the container');
    const kept = run(['--name', 'messy', 'busybox', 'sh', '-c', messy]);
    assert.equal(kept.code, 0, kept.stderr);
    const second = tspod(['inspect', '--format', '{{.Id}}', 'messy']).stdout.trim();
    assert.ok(!gone(second));
    assert.equal(tspod(['rm', 'messy']).code, 0);
    assert.ok(gone(second), 'rm left files of the container');
    assert.ok(fs.existsSync('/etc/passwd'));
  });

  test("the mount helper's removal stops at anything mounted below (a bind mount of the same file system too)", () => {
    const helper = path.join(testEnv.installDir, 'native', 'build', 'tspod-mount-helper');
    const dir = path.join(testEnv.home, 'rmtree-test');
    const script = [
      `rm -rf ${dir} && mkdir -p ${dir}/tree/mnt ${dir}/tree/a/b ${dir}/kept && touch ${dir}/kept/file ${dir}/tree/a/b/c`,
      `${helper} bind ${dir}/kept ${dir}/tree/mnt`,
      `${helper} rmtree ${dir}/tree && exit 9`,
      `ls ${dir}/kept`,
      `${helper} umount ${dir}/tree/mnt`,
      `${helper} rmtree ${dir}/tree ${dir}/missing`,
      `ls ${dir}`,
    ].join('; ');
    const r = tspod(['unshare', 'sh', '-c', script]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `cannot remove ${dir}/tree: it or something below it is still mounted\n`);
    assert.equal(r.stdout, 'file\nkept\n');
  });

  test('run --rm whose CLI was killed: the container is still removed when it ends', async () => {
    const bg = asUser(['sh', '-c', 'tspod run --rm --name cli-killed busybox sh -c "sleep 2" >/dev/null 2>&1 & echo $!']);
    const cliPid = Number(bg.stdout.trim());
    await waitFor(() => psNames(false).includes('cli-killed'), 60_000, 'the container to run');
    process.kill(cliPid, 'SIGKILL');
    // The monitor's exit command removes it instead of the CLI that would have.
    await waitFor(() => !psNames().includes('cli-killed'), 60_000, 'the container to be removed');
  });

  test('a killed monitor: ps tells the truth and rm -f cleans up', async () => {
    assert.equal(run(['-d', '--name', 'orphan', 'busybox', 'sleep', '1000']).code, 0);
    const pidFile = path.join(testEnv.runtimeDir, 'tspod', 'containers');
    const id = tspod(['ps', '-q', '--no-trunc']).stdout.trim();
    const monitorPid = Number(fs.readFileSync(path.join(pidFile, id, 'monitor', 'monitor.pid'), 'utf8'));
    process.kill(monitorPid, 'SIGKILL');
    // The container itself keeps running without its monitor.
    assert.deepEqual(psNames(false), ['orphan']);
    assert.equal(tspod(['rm', '-f', 'orphan']).code, 0);
    assert.deepEqual(psNames(), []);
    // No live `sleep` of the test user is left (zombies wait for an init that reaps them).
    const left = asUser(['sh', '-c', `for p in /proc/[0-9]*; do [ "$(stat -c %u $p)" = ${testEnv.uid} ] && [ "$(cat $p/comm 2>/dev/null)" = sleep ] && ! grep -q "^State:.Z" $p/status && echo $p; done; true`]);
    assert.equal(left.stdout.trim(), '');
  });
});
