// `tspod build` as the unprivileged user, with busybox from the local registry: every
// instruction into the image config, RUN in rootless containers, COPY/ADD, multi-stage builds
// and --target, the cache (hits, a miss after a one-byte change, RUN --mount=type=cache), the
// context from stdin, and the failures (each one clear error, nothing tagged, nothing left).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asUser, image, resetUserState, spawnTspod, testEnv, tspod, waitFor } from './harness';

const work = (): string => path.join(testEnv.home, 'build-test');

/** Writes a context directory (as root, then handed to the test user). */
function context(name: string, files: Record<string, string>): string {
  const dir = path.join(work(), name);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  spawnSync('chown', ['-R', `${testEnv.uid}:${testEnv.gid}`, work()]);
  return dir;
}

function build(args: string[], opts: { input?: string; cwd?: string } = {}): { code: number; stdout: string; stderr: string } {
  return tspod(['build', ...args], { timeoutMs: 180_000, ...opts });
}

function ok(args: string[], opts: { input?: string } = {}): string {
  const r = tspod(args, { timeoutMs: 120_000, ...opts });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function built(args: string[], opts: { input?: string; cwd?: string } = {}): string {
  const r = build(args, opts);
  assert.equal(r.code, 0, `build ${args.join(' ')}: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function inspect(image: string): Record<string, unknown> {
  return JSON.parse(ok(['image', 'inspect', image]))[0] as Record<string, unknown>;
}

/** What killed or failed builds could leave: working dirs, runtime containers, mounts. */
function leftovers(): string[] {
  const buildDir = path.join(testEnv.home, '.local/share/tspod/build');
  const dirs = fs.existsSync(buildDir) ? fs.readdirSync(buildDir) : [];
  // runc and crun both keep a directory per container under their --root.
  const runc = ok(['unshare', 'sh', '-c', `ls "$XDG_RUNTIME_DIR/tspod/runc" 2>/dev/null | grep tspod-build- || true`]).trim();
  return [...dirs, ...(runc ? runc.split('\n') : [])];
}

describe('build', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    asUser(['rm', '-rf', work()]);
  });

  after(() => {
    asUser(['rm', '-rf', work()]);
  });

  test('a Dockerfile with every instruction: the image config field by field, the files, the history', () => {
    const dir = context('all', {
      Dockerfile: [
        'ARG BASE=busybox',
        'FROM ${BASE}',
        'ARG GREETING=hello',
        'LABEL org.example.name="all instructions" org.example.greeting=${GREETING}',
        'MAINTAINER tspod tests',
        'ENV APP_HOME=/srv/app MODE=test',
        'ENV LEGACY value with spaces',
        'WORKDIR $APP_HOME',
        'COPY --chown=tester:extra --chmod=0640 app.txt ./',
        'COPY dir/ /srv/dir/',
        'ADD archive.tar /srv/unpacked/',
        'ADD archive.tar.xz /srv/xz/',
        'RUN echo "$GREETING from $(pwd) as $(id -u)" > built.txt && echo step-output-marker',
        'RUN <<EOF',
        'echo heredoc-line-1 > /srv/heredoc.txt',
        'echo heredoc-line-2 >> /srv/heredoc.txt',
        'EOF',
        'COPY <<EOF /srv/conf.ini',
        '[main]',
        'mode=${MODE}',
        'EOF',
        'EXPOSE 8080 9090/udp',
        'VOLUME /data',
        'USER tester',
        'RUN id -un > /tmp/whoami',
        'HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q -O - http://localhost:8080/ || exit 1',
        'STOPSIGNAL SIGTERM',
        'SHELL ["/bin/sh", "-ec"]',
        'ONBUILD RUN echo triggered > /tmp/onbuild',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["cat /srv/app/built.txt"]',
        '',
      ].join('\n'),
      'app.txt': 'application\n',
      'dir/a.txt': 'a\n',
      'dir/sub/b.txt': 'b\n',
    });
    // a tar archive ADD unpacks
    spawnSync('tar', ['-cf', path.join(dir, 'archive.tar'), '-C', path.join(dir, 'dir'), 'a.txt', 'sub'], { stdio: 'ignore' });
    spawnSync('tar', ['-cJf', path.join(dir, 'archive.tar.xz'), '-C', path.join(dir, 'dir'), 'a.txt'], { stdio: 'ignore' });
    spawnSync('chown', ['-R', `${testEnv.uid}:${testEnv.gid}`, dir]);
    const out = built(['-t', 'all-in', '-t', 'all-in:v2', '--build-arg', 'GREETING=hi', '--label', 'org.example.extra=yes', '--iidfile', `${dir}/iid`, dir]);
    assert.match(out, /^STEP 1\/24: FROM \$\{BASE\}$/m);
    assert.match(out, /^step-output-marker$/m, 'RUN output is streamed');
    assert.match(out, /^COMMIT localhost\/all-in:latest$/m);
    assert.match(out, /^Successfully tagged localhost\/all-in:latest$/m);
    assert.match(out, /^Successfully tagged localhost\/all-in:v2$/m);
    const id = out.trim().split('\n').pop() as string;
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(fs.readFileSync(`${dir}/iid`, 'utf8'), `sha256:${id}`);

    const img = inspect('all-in');
    assert.equal(img.ManifestType, 'application/vnd.oci.image.manifest.v1+json');
    const config = img.Config as Record<string, unknown>;
    assert.deepEqual((config.Env as string[]).filter((e) => !e.startsWith('PATH=')), ['APP_HOME=/srv/app', 'MODE=test', 'LEGACY=value with spaces']);
    assert.ok(!(config.Env as string[]).some((e) => e.startsWith('GREETING=')), 'build args are not persisted');
    assert.deepEqual(config.Cmd, ['cat /srv/app/built.txt']);
    assert.deepEqual(config.Entrypoint, ['/bin/sh', '-c']);
    assert.equal(config.User, 'tester');
    assert.equal(config.WorkingDir, '/srv/app');
    assert.deepEqual(config.ExposedPorts, { '8080/tcp': {}, '9090/udp': {} });
    assert.deepEqual(config.Volumes, { '/data': {} });
    const labels = config.Labels as Record<string, string>;
    assert.equal(labels['org.example.name'], 'all instructions');
    assert.equal(labels['org.example.greeting'], 'hi');
    assert.equal(labels['org.example.extra'], 'yes');
    assert.deepEqual(config.Healthcheck, { Test: ['CMD-SHELL', 'wget -q -O - http://localhost:8080/ || exit 1'], Interval: 30e9, Timeout: 5e9, Retries: 3 });
    assert.equal(config.StopSignal, 'SIGTERM');
    assert.deepEqual(config.Shell, ['/bin/sh', '-ec']);
    assert.deepEqual(config.OnBuild, ['RUN echo triggered > /tmp/onbuild']);
    assert.equal(img.Author, 'tspod tests');

    // the files: owners, modes, ADD unpacked, heredocs, the RUN as tester
    const files = ok(['run', '--rm', '--entrypoint', 'sh', 'all-in', '-c',
      'cat built.txt; ls -ln app.txt | cut -c1-10; stat -c "%u:%g" app.txt; cat /srv/dir/sub/b.txt /srv/unpacked/sub/b.txt /srv/xz/a.txt /srv/heredoc.txt /srv/conf.ini /tmp/whoami; id -u; pwd']);
    assert.equal(files, 'hi from /srv/app as 0\n-rw-r-----\n1000:2000\nb\nb\na\nheredoc-line-1\nheredoc-line-2\n[main]\nmode=test\ntester\n1000\n/srv/app\n');
    assert.equal(ok(['run', '--rm', 'all-in']), 'hi from /srv/app as 0\n');

    // one history entry per step, as Podman writes them
    const history = ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'all-in']).split('\n');
    assert.ok(history.includes('/bin/sh -c #(nop) EXPOSE 8080 9090/udp'), history.join('\n'));
    assert.ok(history.includes('/bin/sh -c #(nop) USER tester'), history.join('\n'));
    assert.ok(history.some((h) => /^\|1 GREETING=hi \/bin\/sh -c echo "\$GREETING from/.test(h)), history.join('\n'));
    assert.ok(history.some((h) => /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \.\/ $/.test(h)), history.join('\n'));
  });

  test('ONBUILD triggers run when the image is a base, and are not passed on', () => {
    const dir = context('onbuild', { Dockerfile: 'FROM all-in\nUSER root\nRUN cat /tmp/onbuild\n' });
    const out = built(['-t', 'onbuild-child', dir]);
    assert.match(out, /^triggered$/m);
    assert.deepEqual((inspect('onbuild-child').Config as Record<string, unknown>).OnBuild ?? null, null);
  });

  test('WORKDIR creates what is missing owned by the USER of the moment, as BuildKit does', () => {
    const dockerfile = 'FROM busybox\nRUN echo app:x:1234:1234::/home/app:/bin/sh >> /etc/passwd && echo app:x:1234: >> /etc/group\nUSER app\nWORKDIR /home/app/data/new\nRUN touch mine && stat -c "%U %u" /home/app/data /home/app/data/new mine\nUSER root\nWORKDIR /rootdir\nRUN stat -c "%U" /rootdir\n';
    const out = built(['-t', 'workdir-owner', context('workdir-owner', { Dockerfile: dockerfile })]);
    assert.match(out, /^app 1234\napp 1234\napp 1234$/m);
    assert.match(out, /^root$/m);
  });

  test('multi-stage: only the stages the target needs run; COPY --from an earlier stage; --target', () => {
    const dir = context('multi', {
      Dockerfile: [
        'FROM busybox AS builder',
        'RUN echo compiled > /artifact',
        'FROM busybox AS unused',
        'RUN echo unused-stage-ran && exit 1',
        'FROM busybox',
        'COPY --from=builder /artifact /app/artifact',
        'COPY --from=multilayer /data/a.txt /app/from-image.txt',
        'RUN --mount=type=bind,from=builder,source=/artifact,target=/mnt/artifact --mount=type=bind,source=src,target=/src --mount=type=tmpfs,target=/scratch \\',
        '    cat /mnt/artifact /src/input.txt > /app/mounted.txt && touch /scratch/x && ! touch /src/written 2>/dev/null',
        'CMD ["cat", "/app/artifact"]',
        '',
      ].join('\n'),
      'src/input.txt': 'from the context\n',
    });
    const out = built(['-t', 'multi', dir]);
    assert.doesNotMatch(out, /unused-stage-ran/);
    assert.match(out, /^\[1\/2\] STEP 1\/2: FROM busybox AS builder$/m);
    assert.match(out, /^\[2\/2\] STEP 2\/5: COPY --from=builder \/artifact \/app\/artifact$/m);
    assert.equal(ok(['run', '--rm', 'multi']), 'compiled\n');
    assert.equal(ok(['run', '--rm', 'multi', 'sh', '-c', 'cat /app/from-image.txt /app/mounted.txt; ls /scratch /mnt 2>&1 | wc -l']), 'a\ncompiled\nfrom the context\n2\n');
    assert.ok(!fs.existsSync(path.join(dir, 'src/written')), 'a bind mount is read-only');
    built(['--target', 'builder', '-t', 'multi-builder', dir]);
    assert.equal(ok(['run', '--rm', 'multi-builder', 'sh', '-c', 'cat /artifact; ls /app 2>&1 || true']), 'compiled\nls: /app: No such file or directory\n');
    const bad = build(['--target', 'nope', dir]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /target stage "nope" could not be found/);
  });

  test('.dockerignore with exceptions decides what COPY sees', () => {
    const dir = context('ignore', {
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN cd /ctx && find . -type f | sort\n',
      '.dockerignore': '# build outputs\n*.env\nlogs\n!logs/keep.log\nnode_modules\n',
      'keep.txt': 'k',
      'secret.env': 'TOKEN=x',
      'logs/a.log': 'a',
      'logs/keep.log': 'kept',
      'node_modules/x/index.js': 'js',
    });
    const out = built(['-t', 'ignored', dir]);
    assert.match(out, /^\.\/\.dockerignore\n\.\/Dockerfile\n\.\/keep\.txt\n\.\/logs\/keep\.log\n/m);
    const missing = build(['-f', '-', dir], { input: 'FROM busybox\nCOPY secret.env /\n' });
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /secret\.env/);
  });

  test('cache: an unchanged rebuild runs nothing; a one-byte change re-runs the COPY and what follows', () => {
    const dir = context('cache', {
      Dockerfile: 'FROM busybox\nRUN echo first-run-output\nCOPY data.txt /data.txt\nRUN echo after-copy-output\n',
      'data.txt': 'version 1\n',
    });
    const first = built(['-t', 'cached', dir]);
    assert.match(first, /^first-run-output$/m);
    const second = built(['-t', 'cached', dir]);
    assert.doesNotMatch(second, /^(first-run|after-copy)-output$/m, 'no RUN ran');
    assert.equal((second.match(/^--> Using cache [0-9a-f]{64}$/gm) ?? []).length, 3);
    assert.equal(second.trim().split('\n').pop(), first.trim().split('\n').pop(), 'same image ID');
    fs.writeFileSync(path.join(dir, 'data.txt'), 'version 2\n');
    const third = built(['-t', 'cached', dir]);
    assert.doesNotMatch(third, /^first-run-output$/m);
    assert.match(third, /^after-copy-output$/m);
    assert.equal((third.match(/^--> Using cache/gm) ?? []).length, 1);
    assert.equal(ok(['run', '--rm', 'cached', 'cat', '/data.txt']), 'version 2\n');
    // --no-cache runs every step again
    assert.match(built(['--no-cache', '-t', 'cached', dir]), /^first-run-output$/m);
    // a build arg a RUN sees is part of its key; --pull=never refuses a missing base
    fs.writeFileSync(path.join(dir, 'Dockerfile.arg'), 'FROM busybox\nARG LEVEL=1\nRUN echo level-$LEVEL\n');
    assert.match(built(['-f', `${dir}/Dockerfile.arg`, dir]), /^level-1$/m);
    assert.doesNotMatch(built(['-f', `${dir}/Dockerfile.arg`, dir]), /^level-1$/m);
    assert.match(built(['-f', `${dir}/Dockerfile.arg`, '--build-arg', 'LEVEL=2', dir]), /^level-2$/m);
    fs.writeFileSync(path.join(dir, 'Dockerfile.never'), 'FROM busybox:never-pulled\n');
    const never = build(['--pull=never', '-f', `${dir}/Dockerfile.never`, dir]);
    assert.equal(never.code, 125);
    assert.match(never.stderr, /busybox:never-pulled: image not known/);
  });

  test('RUN --mount=type=cache keeps its content across builds and out of the image', () => {
    const dir = context('cachemount', { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log\n' });
    assert.match(built(['--no-cache', '-t', 'cachemount', dir]), /^1$/m);
    assert.match(built(['--no-cache', '-t', 'cachemount', dir]), /^2$/m);
    assert.equal(ok(['run', '--rm', 'cachemount', 'sh', '-c', 'cat /var/cache/app/log 2>/dev/null | wc -l']), '0\n');
  });

  test('a file deleted in a later layer is absent in the container; secrets stay out of layers', () => {
    const secret = path.join(work(), 'secret.txt');
    context('delete', { Dockerfile: 'FROM busybox\nRUN echo temp > /tmp/scratch.txt\nRUN rm /tmp/scratch.txt /home/tester/hello.txt\nRUN --mount=type=secret,id=token cat /run/secrets/token > /tmp/seen\n' });
    fs.writeFileSync(secret, 's3cret\n');
    spawnSync('chown', [`${testEnv.uid}:${testEnv.gid}`, secret]);
    built(['--secret', `id=token,src=${secret}`, '-t', 'deleted', path.join(work(), 'delete')]);
    const r = tspod(['run', '--rm', 'deleted', 'sh', '-c', 'ls /tmp; ls /home/tester; cat /tmp/seen; ls /run/secrets 2>&1']);
    assert.equal(r.stdout, 'seen\nprivate.txt\ns3cret\nls: /run/secrets: No such file or directory\n');
  });

  test('a context as a tar on stdin, and -f -', () => {
    const dir = context('stdin', { Dockerfile: 'FROM busybox\nCOPY hello.txt /\nCMD ["cat", "/hello.txt"]\n', 'hello.txt': 'from a tar\n' });
    const r = asUser(['sh', '-c', `tar -c -C ${dir} . | tspod build -q -t from-stdin -`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/, 'with -q only the ID');
    assert.equal(ok(['run', '--rm', 'from-stdin']), 'from a tar\n');
    const viaDash = asUser(['sh', '-c', `printf 'FROM busybox\\nCOPY hello.txt /h\\n' | tspod build -q -f - -t dash-f ${dir}`]);
    assert.equal(viaDash.code, 0, viaDash.stderr);
  });

  test("a real-world Dockerfile: Prometheus's image, on the local busybox", () => {
    const dir = path.join(work(), 'prometheus');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(path.join(testEnv.repoDir, 'tests/fixtures/build/prometheus'), dir, { recursive: true });
    spawnSync('chown', ['-R', `${testEnv.uid}:${testEnv.gid}`, dir]);
    built(['--format', 'docker', '-t', 'prometheus', dir]);
    assert.equal(inspect('prometheus').ManifestType, 'application/vnd.docker.distribution.manifest.v2+json');
    // pushed as it was built: a Docker v2s2 manifest
    const dest = `${testEnv.registry}/build-exec/prometheus:docker`;
    ok(['push', '-q', 'prometheus', dest]);
    const raw = asUser(['skopeo', 'inspect', '--tls-verify=false', '--raw', `docker://${dest}`]);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal((JSON.parse(raw.stdout) as { mediaType: string }).mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    const config = inspect('prometheus').Config as Record<string, unknown>;
    assert.equal(config.User, 'nobody');
    assert.equal(config.WorkingDir, '/prometheus');
    assert.deepEqual(config.Entrypoint, ['/bin/prometheus']);
    assert.equal((config.Cmd as string[]).length, 4);
    assert.deepEqual(config.ExposedPorts, { '9090/tcp': {} });
    assert.deepEqual(config.Volumes, { '/prometheus': {} });
    assert.equal((config.Labels as Record<string, string>).maintainer, 'The Prometheus Authors <prometheus-developers@googlegroups.com>');
    const out = ok(['run', '--rm', 'prometheus']);
    assert.equal(out, 'prometheus --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus --web.console.libraries=/usr/share/prometheus/console_libraries --web.console.templates=/usr/share/prometheus/consoles\n');
    const files = ok(['run', '--rm', '--entrypoint', 'sh', 'prometheus', '-c', 'id -u; pwd; stat -c "%U %n" /etc/prometheus /prometheus; readlink /etc/prometheus/consoles; cat /etc/prometheus/consoles/node.html']);
    assert.equal(files, '65534\n/prometheus\nnobody /etc/prometheus\nnobody /prometheus\n/usr/share/prometheus/consoles/\n<h1>node</h1>\n');
  });

  test('--squash and --layers=false leave one new layer; deletions stay deleted; RUN --network', () => {
    const dir = context('squash', {
      Dockerfile: [
        'FROM busybox',
        'RUN echo one > /one && echo gone > /gone',
        'RUN rm /gone /home/tester/hello.txt && echo two > /two',
        'RUN --network=none ls /sys/class/net > /net-none.txt',
        'RUN ls /sys/class/net > /net-default.txt',
        '',
      ].join('\n'),
    });
    const baseLayers = (inspect('busybox').RootFS as { Layers: string[] }).Layers.length;
    for (const flags of [['--squash'], ['--layers=false']]) {
      tspod(['rmi', 'squashed']);
      const before = ok(['images', '-a', '-q']).trim().split('\n').length;
      built([...flags, '-t', 'squashed', dir]);
      const layers = (inspect('squashed').RootFS as { Layers: string[] }).Layers;
      assert.equal(layers.length, baseLayers + 1, `${flags}: ${layers.join(' ')}`);
      const files = ok(['run', '--rm', 'squashed', 'sh', '-c', 'cat /one /two; ls /gone /home/tester/hello.txt 2>&1; cat /net-none.txt; grep -c tap0 /net-default.txt']);
      assert.equal(files, 'one\ntwo\nls: /gone: No such file or directory\nls: /home/tester/hello.txt: No such file or directory\nlo\n1\n');
      if (flags[0] === '--layers=false') assert.equal(ok(['images', '-a', '-q']).trim().split('\n').length, before + 1, 'no intermediate images');
    }
  });

  test('ADD of a URL with --checksum; a wrong checksum fails', () => {
    const blob = image('busybox:latest').layers[0];
    const url = `http://${testEnv.registry}/v2/library/busybox/blobs/${blob}`;
    const dir = context('addurl', { Dockerfile: `FROM busybox\nADD --checksum=${blob} ${url} /downloads/layer.tgz\n`, 'Dockerfile.bad': `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /x\n` });
    built(['-t', 'addurl', dir]);
    const out = ok(['run', '--rm', 'addurl', 'sh', '-c', 'sha256sum /downloads/layer.tgz | cut -d" " -f1; stat -c %a /downloads/layer.tgz']);
    assert.equal(out, `${blob.slice(7)}\n600\n`);
    const bad = build(['-f', `${dir}/Dockerfile.bad`, dir]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /checksum mismatch/);
  });

  test('--platform: another architecture builds without RUN; a RUN there is a clear error', () => {
    const dir = context('platform', { Dockerfile: 'FROM multiarch\nLABEL arch=arm\n', 'Dockerfile.run': 'FROM multiarch\nRUN cat /arch\n' });
    ok(['pull', '-q', 'multiarch']); // the host's variant, present locally: not the one asked for
    built(['--platform', 'linux/arm64', '-t', 'arm-image', dir]);
    assert.equal(inspect('arm-image').Architecture, 'arm64');
    fs.writeFileSync(path.join(dir, 'Dockerfile.from'), 'FROM --platform=linux/arm64 multiarch\nCMD ["cat", "/arch"]\n');
    built(['-f', `${dir}/Dockerfile.from`, '-t', 'arm-from', dir]);
    assert.equal(inspect('arm-from').Architecture, 'arm64');
    const r = build(['--platform', 'linux/arm64', '-f', `${dir}/Dockerfile.run`, dir]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /cannot run a arm64 image on this amd64 host/);
  });

  test('failures: one clear error naming the line, the right exit code, nothing tagged, nothing left behind', () => {
    const dir = context('fail', {
      'Dockerfile.run': 'FROM busybox\nRUN echo visible-output; echo to-stderr >&2; exit 3\n',
      'Dockerfile.unknown': 'FROM busybox\nFOO bar\n',
      'Dockerfile.from': 'FROM no-such-image-anywhere\n',
      'Dockerfile.outside': 'FROM busybox\nCOPY ../secret.txt /\n',
      'Dockerfile.missing-src': 'FROM busybox\nCOPY nothing-here.txt /\n',
    });
    const run = build(['-f', `${dir}/Dockerfile.run`, '-t', 'failed', dir]);
    assert.equal(run.code, 3, 'a failing RUN exits with its code, as Podman does');
    assert.match(run.stdout, /^visible-output$/m);
    assert.match(run.stderr, /to-stderr/);
    assert.match(run.stderr, /^Error: building at STEP "RUN echo visible-output; echo to-stderr >&2; exit 3" \(Dockerfile\.run:2\): while running runtime: exit status 3$/m);
    assert.notEqual(tspod(['image', 'exists', 'failed']).code, 0, 'nothing tagged');

    const unknown = build(['-f', `${dir}/Dockerfile.unknown`, dir]);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /Dockerfile\.unknown:2/);
    assert.match(unknown.stderr, /FOO/);
    const from = build(['-f', `${dir}/Dockerfile.from`, dir]);
    assert.equal(from.code, 125);
    assert.match(from.stderr, /no-such-image-anywhere/);
    const outside = build(['-f', `${dir}/Dockerfile.outside`, dir]);
    assert.equal(outside.code, 125);
    assert.match(outside.stderr, /outside the build context/);
    assert.match(outside.stderr, /Dockerfile\.outside:2/);
    const missing = build(['-f', `${dir}/Dockerfile.missing-src`, dir]);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /nothing-here\.txt/);
    const noFile = build([path.join(work(), 'no-such-dir')]);
    assert.equal(noFile.code, 125);
    assert.equal(noFile.stderr.trim().split('\n').length, 1, noFile.stderr);
    const badFlag = build(['--network', 'bogus', dir]);
    assert.equal(badFlag.code, 125);
    assert.deepEqual(leftovers(), []);
  });

  test('Ctrl-C during a RUN stops it, tags nothing and leaves no working container', async () => {
    const dir = context('interrupt', { Dockerfile: 'FROM busybox\nRUN echo started-sleeping && sleep 60\n' });
    const child = spawnTspod(['build', '-t', 'interrupted', dir]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(() => /^started-sleeping$/m.test(out), 60_000, 'the RUN to start');
    // setpriv execs tspod, which keeps the pid: this is what a terminal's Ctrl-C does to it
    process.kill(child.pid as number, 'SIGINT');
    const code = await exited;
    assert.equal(code, 130);
    assert.notEqual(tspod(['image', 'exists', 'interrupted']).code, 0);
    assert.deepEqual(leftovers(), []);
  });
});
