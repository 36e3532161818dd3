// The build executor's pure parts: config instructions, history texts, stage selection, COPY
// source matching and hashing, squashed configs, and the build command's flag parsing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseBuildArgs, parseLabels, parseSecrets } from '../../cmd/tspod/image-build';
import { stepConfig } from '../../pkg/build/build-image';
import { neededStages, targetStage } from '../../pkg/build/build-executor';
import { componentRegex, rootSources, topLevelCount } from '../../pkg/build/copy-sources';
import { parseDockerfile } from '../../pkg/build/dockerfile-parser';
import { applyConfigInstruction, nopCreatedBy, parseDuration } from '../../pkg/build/instruction-config';
import { squashedConfig } from '../../pkg/build/squash-layers';
import { InvalidArgumentError } from '../../pkg/errors';
import type { ContainerConfig, ImageConfig } from '../../pkg/image/manifest';

/** The instructions of a one-stage Dockerfile, parsed. */
function instructions(body: string) {
  return parseDockerfile(`FROM scratch\n${body}\n`, 'Dockerfile').stages[0].instructions;
}

function apply(config: ContainerConfig, body: string, cmdSetInStage = false): ContainerConfig {
  let out = config;
  for (const ins of instructions(body)) out = applyConfigInstruction(out, ins, { cmdSetInStage }).config;
  return out;
}

describe('config instructions', () => {
  it('set the container config as Docker does', () => {
    const c = apply({ Env: ['PATH=/bin'] }, 'ENV A=1 B=2\nLABEL x=y\nEXPOSE 80 53/udp\nVOLUME ["/data"]\nUSER app\nWORKDIR /srv\nWORKDIR sub\nSTOPSIGNAL SIGINT\nSHELL ["/bin/bash", "-c"]\nCMD echo hi');
    assert.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=2']);
    assert.deepEqual(c.Labels, { x: 'y' });
    assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(c.Volumes, { '/data': {} });
    assert.equal(c.User, 'app');
    assert.equal(c.WorkingDir, '/srv/sub');
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.Cmd, ['/bin/bash', '-c', 'echo hi'], 'shell form goes through SHELL');
  });
  it('ENTRYPOINT drops an inherited CMD but keeps one set in the stage', () => {
    assert.equal(apply({ Cmd: ['sh'] }, 'ENTRYPOINT ["/entry"]').Cmd, null);
    assert.deepEqual(apply({}, 'CMD ["x"]\nENTRYPOINT ["/entry"]', true).Cmd, ['x']);
  });
  it('HEALTHCHECK with durations in nanoseconds, and NONE', () => {
    assert.deepEqual(apply({}, 'HEALTHCHECK --interval=1m30s --start-period=500ms CMD ["true"]').Healthcheck, { Test: ['CMD', 'true'], Interval: 90e9, StartPeriod: 5e8 });
    assert.deepEqual(apply({}, 'HEALTHCHECK NONE').Healthcheck, { Test: ['NONE'] });
    assert.throws(() => parseDuration('interval', '10 parsecs'), InvalidArgumentError);
  });
  it('ONBUILD records the inner instruction as written', () => {
    assert.deepEqual(apply({}, 'ONBUILD COPY . /app\nONBUILD RUN make').OnBuild, ['COPY . /app', 'RUN make']);
  });
  it("history texts are Podman's", () => {
    const [env, cmd] = instructions('ENV A=1\nCMD ["sh", "-c", "x"]');
    assert.equal(nopCreatedBy(env), '/bin/sh -c #(nop) ENV A=1');
    assert.equal(nopCreatedBy(cmd), '/bin/sh -c #(nop) CMD ["sh","-c","x"]');
  });
});

describe('stages', () => {
  const df = parseDockerfile(
    ['FROM busybox AS a', 'RUN true', 'FROM busybox AS b', 'COPY --from=a /x /x', 'FROM busybox AS unused', 'FROM b AS final', 'RUN --mount=type=bind,from=a,target=/m true', ''].join('\n'),
    'Dockerfile',
  );
  it('builds only what the target needs', () => {
    assert.deepEqual(neededStages(df, targetStage(df, undefined), new Map()).map((s) => s.name), ['a', 'b', 'final']);
    assert.deepEqual(neededStages(df, targetStage(df, 'b'), new Map()).map((s) => s.name), ['a', 'b']);
    assert.deepEqual(neededStages(df, targetStage(df, 'unused'), new Map()).map((s) => s.name), ['unused']);
  });
  it('refuses an unknown target', () => {
    assert.throws(() => targetStage(df, 'nope'), /target stage "nope" could not be found/);
  });
});

describe('COPY --from sources in an image root', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'copy-root-'));
  fs.mkdirSync(path.join(root, 'usr/lib/app'), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/lib/app/a.txt'), 'a');
  fs.writeFileSync(path.join(root, 'usr/lib/app/b.log'), 'b');
  fs.symlinkSync('/usr/lib', path.join(root, 'lib'));

  it('matches globs per element like filepath.Match', () => {
    assert.ok(componentRegex('*.txt').test('a.txt'));
    assert.ok(!componentRegex('*.txt').test('a.log'));
    assert.ok(componentRegex('[ab]?').test('bx'));
    assert.deepEqual(rootSources(root, '/usr/lib/app/*.txt').map((f) => [f.path, f.name]), [['usr/lib/app/a.txt', 'a.txt']]);
  });
  it("follows symlinks inside the root, never out of it", () => {
    assert.deepEqual(rootSources(root, '/lib/app/a.txt').map((f) => f.abs), [path.join(root, 'usr/lib/app/a.txt')]);
    assert.deepEqual(rootSources(root, '../../lib/app/a.txt').map((f) => f.abs), [path.join(root, 'usr/lib/app/a.txt')]);
  });
  it('a directory stands for its content; a missing source is an error', () => {
    const files = rootSources(root, '/usr/lib/app');
    assert.deepEqual(files.map((f) => f.name), ['', 'a.txt', 'b.log']);
    assert.equal(topLevelCount(files), 1);
    assert.equal(topLevelCount(rootSources(root, '/usr/lib/app/*')), 2);
    assert.throws(() => rootSources(root, '/nope'), /"\/nope": no such file or directory/);
  });
});

describe('image configs', () => {
  const base: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:base'] }, history: [{ created_by: 'base' }] };
  it('a step adds one history entry and its diff ID; config steps are empty layers', () => {
    const layer = { id: 'sha256:c1', diffId: 'sha256:d1', size: 1 } as never;
    const one = stepConfig(base, { layer, config: {}, createdBy: 'RUN x' }, 't1');
    const two = stepConfig(one, { config: { Env: ['A=1'] }, createdBy: '#(nop) ENV A=1' }, 't2');
    assert.deepEqual(two.rootfs.diff_ids, ['sha256:base', 'sha256:d1']);
    assert.deepEqual(two.history?.map((h) => h.empty_layer ?? false), [false, false, true]);
    const squashed = squashedConfig(two, 1, 1, { diffId: 'sha256:sq' } as never);
    assert.deepEqual(squashed.rootfs.diff_ids, ['sha256:base', 'sha256:sq']);
    assert.deepEqual(squashed.history?.map((h) => h.empty_layer ?? false), [false, true, false]);
  });
});

describe('build flags', () => {
  it('--build-arg NAME takes the environment value; --label KEY is empty', () => {
    assert.deepEqual([...parseBuildArgs(['A=1', 'B', 'C'], { B: 'from-env' })], [['A', '1'], ['B', 'from-env']]);
    assert.deepEqual(parseLabels(['a=b', 'c']), { a: 'b', c: '' });
    assert.throws(() => parseBuildArgs(['=x']), InvalidArgumentError);
  });
  it('--secret needs an id and a source that exists', () => {
    assert.throws(() => parseSecrets(['src=/etc/hostname']), /id= is required/);
    assert.throws(() => parseSecrets(['id=a,src=/no/such/file']), /no such file/);
    assert.equal(parseSecrets(['id=a,src=/etc/hostname']).get('a'), '/etc/hostname');
  });
});
