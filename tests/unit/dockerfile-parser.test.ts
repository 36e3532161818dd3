import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileError, onbuildTriggerText, parseDockerfile, parseTrigger } from '../../pkg/build/dockerfile-parser';
import type { Instruction } from '../../pkg/build/dockerfile-types';

/** The first instruction after FROM in a one-stage Dockerfile. */
function one(body: string): Instruction {
  const df = parseDockerfile(`FROM busybox\n${body}\n`, 'Dockerfile');
  assert.equal(df.stages[0].instructions.length, 1, `expected one instruction from ${JSON.stringify(body)}`);
  return df.stages[0].instructions[0];
}

function shape(ins: Instruction) {
  return { keyword: ins.keyword, flags: ins.flags, form: ins.form, args: ins.args };
}

const f = (name: string, value: string) => ({ name, value });

const instructionCases: [string, string, ReturnType<typeof shape>][] = [
  ['RUN shell form', 'RUN echo hello world', { keyword: 'RUN', flags: [], form: 'shell', args: ['echo hello world'] }],
  ['RUN exec form', 'RUN ["echo", "a b"]', { keyword: 'RUN', flags: [], form: 'exec', args: ['echo', 'a b'] }],
  ['RUN invalid JSON falls back to shell form', 'RUN [echo, hi]', { keyword: 'RUN', flags: [], form: 'shell', args: ['[echo, hi]'] }],
  ['lower-case keyword', 'run echo hi', { keyword: 'RUN', flags: [], form: 'shell', args: ['echo hi'] }],
  ['RUN --mount repeated and --network', 'RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t --network=none make', {
    keyword: 'RUN', flags: [f('mount', 'type=cache,target=/c'), f('mount', 'type=tmpfs,target=/t'), f('network', 'none')], form: 'shell', args: ['make'],
  }],
  ['RUN --mount=type=secret', 'RUN --mount=type=secret,id=tok cat /run/secrets/tok', { keyword: 'RUN', flags: [f('mount', 'type=secret,id=tok')], form: 'shell', args: ['cat /run/secrets/tok'] }],
  ['RUN --mount=type=bind from a stage', 'RUN --mount=type=bind,from=build,source=/out,target=/in ls /in', {
    keyword: 'RUN', flags: [f('mount', 'type=bind,from=build,source=/out,target=/in')], form: 'shell', args: ['ls /in'],
  }],
  ['quoted flag value', 'RUN --mount="type=cache,target=/a b" ls', { keyword: 'RUN', flags: [f('mount', 'type=cache,target=/a b')], form: 'shell', args: ['ls'] }],
  ['-- ends the flags', 'RUN -- --version', { keyword: 'RUN', flags: [], form: 'shell', args: ['--version'] }],
  ['CMD shell form', 'CMD httpd -f', { keyword: 'CMD', flags: [], form: 'shell', args: ['httpd -f'] }],
  ['CMD exec form', 'CMD ["httpd", "-f"]', { keyword: 'CMD', flags: [], form: 'exec', args: ['httpd', '-f'] }],
  ['CMD empty JSON array', 'CMD []', { keyword: 'CMD', flags: [], form: 'exec', args: [] }],
  ['ENTRYPOINT exec form', 'ENTRYPOINT ["/bin/sh", "-c"]', { keyword: 'ENTRYPOINT', flags: [], form: 'exec', args: ['/bin/sh', '-c'] }],
  ['ENTRYPOINT shell form', 'ENTRYPOINT exec top -b', { keyword: 'ENTRYPOINT', flags: [], form: 'shell', args: ['exec top -b'] }],
  ['SHELL', 'SHELL ["/bin/sh", "-ec"]', { keyword: 'SHELL', flags: [], form: 'exec', args: ['/bin/sh', '-ec'] }],
  ['COPY several sources', 'COPY a b* dir/ /dst/', { keyword: 'COPY', flags: [], form: 'words', args: ['a', 'b*', 'dir/', '/dst/'] }],
  ['COPY JSON form with spaces', 'COPY ["my file", "/dst dir/"]', { keyword: 'COPY', flags: [], form: 'exec', args: ['my file', '/dst dir/'] }],
  ['COPY all its flags', 'COPY --from=build --chown=app:app --chmod=0755 --link /out /bin/', {
    keyword: 'COPY', flags: [f('from', 'build'), f('chown', 'app:app'), f('chmod', '0755'), f('link', 'true')], form: 'words', args: ['/out', '/bin/'],
  }],
  ['COPY --link=false', 'COPY --link=false a /b', { keyword: 'COPY', flags: [f('link', 'false')], form: 'words', args: ['a', '/b'] }],
  ['COPY --chmod symbolic', 'COPY --chmod=u+x,go-w a /b', { keyword: 'COPY', flags: [f('chmod', 'u+x,go-w')], form: 'words', args: ['a', '/b'] }],
  ['ADD --checksum', `ADD --checksum=sha256:${'a'.repeat(64)} https://example.com/x.tar /x`, {
    keyword: 'ADD', flags: [f('checksum', `sha256:${'a'.repeat(64)}`)], form: 'words', args: ['https://example.com/x.tar', '/x'],
  }],
  ['ENV key=value pairs keep their quotes for expansion', 'ENV a=1 b="two words" c=three\\ words', {
    keyword: 'ENV', flags: [], form: 'words', args: ['a=1', 'b="two words"', 'c=three\\ words'],
  }],
  ['ENV legacy form: the rest of the line is the value', 'ENV GREETING hello   big world', { keyword: 'ENV', flags: [], form: 'words', args: ['GREETING=hello   big world'] }],
  ['ENV legacy form with = in the value', 'ENV A b=c', { keyword: 'ENV', flags: [], form: 'words', args: ['A=b=c'] }],
  ['ENV empty value', 'ENV A=', { keyword: 'ENV', flags: [], form: 'words', args: ['A='] }],
  ['LABEL several', 'LABEL org.opencontainers.image.title="My app" version=1.0', {
    keyword: 'LABEL', flags: [], form: 'words', args: ['org.opencontainers.image.title="My app"', 'version=1.0'],
  }],
  ['LABEL quoted key', 'LABEL "com.example.vendor"="ACME Inc"', { keyword: 'LABEL', flags: [], form: 'words', args: ['"com.example.vendor"="ACME Inc"'] }],
  ['MAINTAINER keeps the whole line', 'MAINTAINER Jane Doe <jane@example.com>', { keyword: 'MAINTAINER', flags: [], form: 'words', args: ['Jane Doe <jane@example.com>'] }],
  ['EXPOSE several', 'EXPOSE 80/tcp 53/udp 8080', { keyword: 'EXPOSE', flags: [], form: 'words', args: ['80/tcp', '53/udp', '8080'] }],
  ['VOLUME JSON', 'VOLUME ["/data", "/var/log"]', { keyword: 'VOLUME', flags: [], form: 'exec', args: ['/data', '/var/log'] }],
  ['VOLUME words', 'VOLUME /data /var/log', { keyword: 'VOLUME', flags: [], form: 'words', args: ['/data', '/var/log'] }],
  ['WORKDIR', 'WORKDIR /app/my dir', { keyword: 'WORKDIR', flags: [], form: 'words', args: ['/app/my dir'] }],
  ['USER with group', 'USER app:staff', { keyword: 'USER', flags: [], form: 'words', args: ['app:staff'] }],
  ['STOPSIGNAL', 'STOPSIGNAL SIGTERM', { keyword: 'STOPSIGNAL', flags: [], form: 'words', args: ['SIGTERM'] }],
  ['ARG several with and without defaults', 'ARG A B=2 C="x y"', { keyword: 'ARG', flags: [], form: 'words', args: ['A', 'B=2', 'C="x y"'] }],
  ['HEALTHCHECK NONE', 'HEALTHCHECK NONE', { keyword: 'HEALTHCHECK', flags: [], form: 'words', args: ['NONE'] }],
  ['HEALTHCHECK shell form with every flag', 'HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=2s --retries=3 CMD curl -f http://localhost/ || exit 1', {
    keyword: 'HEALTHCHECK',
    flags: [f('interval', '5m'), f('timeout', '3s'), f('start-period', '1m30s'), f('start-interval', '2s'), f('retries', '3')],
    form: 'shell',
    args: ['CMD', 'curl -f http://localhost/ || exit 1'],
  }],
  ['HEALTHCHECK exec form', 'HEALTHCHECK cmd ["true"]', { keyword: 'HEALTHCHECK', flags: [], form: 'exec', args: ['CMD', 'true'] }],
];

for (const [name, body, expected] of instructionCases) {
  test(`instruction: ${name}`, () => {
    assert.deepEqual(shape(one(body)), expected);
  });
}

test('FROM: image, AS name lower-cased, --platform, scratch', () => {
  const df = parseDockerfile('FROM --platform=linux/arm64 busybox AS Builder\nFROM scratch\nfrom builder as final\n', 'Dockerfile');
  assert.equal(df.stages.length, 3);
  assert.deepEqual(shape(df.stages[0].from), { keyword: 'FROM', flags: [f('platform', 'linux/arm64')], form: 'words', args: ['busybox', 'AS', 'Builder'] });
  assert.equal(df.stages[0].name, 'builder');
  assert.equal(df.stages[1].name, undefined);
  assert.deepEqual(df.stages[1].from.args, ['scratch']);
  assert.equal(df.stages[2].name, 'final');
  assert.deepEqual(df.stages.map((s) => s.index), [0, 1, 2]);
});

test('ARGs before the first FROM are global; ARGs after belong to the stage', () => {
  const df = parseDockerfile('ARG VERSION=1\nARG BASE\nFROM busybox:$VERSION\nARG VERSION\nRUN echo $VERSION\n', 'Dockerfile');
  assert.deepEqual(df.globalArgs.map((a) => a.args), [['VERSION=1'], ['BASE']]);
  assert.deepEqual(df.stages[0].instructions.map((i) => i.keyword), ['ARG', 'RUN']);
});

test('lines: continuations, comments and blank lines inside them, original text and line numbers', () => {
  const df = parseDockerfile(
    [
      '# a comment',
      '',
      'FROM busybox',
      'RUN echo one \\',
      '# comment inside the continuation',
      '',
      '    two \\  ',
      '  three',
      '   # indented comment',
      'CMD ["sh"]',
    ].join('\n'),
    'Dockerfile',
  );
  const [run, cmd] = df.stages[0].instructions;
  assert.equal(run.line, 4);
  assert.deepEqual(run.args, ['echo one     two   three']);
  assert.equal(run.original, 'RUN echo one     two   three');
  assert.equal(cmd.line, 10);
  assert.equal(df.warnings?.length, 1, 'the empty continuation line is warned about');
});

test('lines: CRLF line endings and a byte-order mark', () => {
  const df = parseDockerfile('\uFEFFFROM busybox\r\nRUN a \\\r\n b\r\nCMD x\r\n', 'Dockerfile');
  assert.deepEqual(df.stages[0].instructions.map((i) => i.args), [['a  b'], ['x']]);
});

test('directives: escape=` changes the continuation character; syntax is recorded', () => {
  const df = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\nRUN dir c:\\ `\n  && echo\n', 'Dockerfile');
  assert.equal(df.escape, '`');
  assert.equal(df.syntax, 'docker/dockerfile:1');
  assert.deepEqual(df.stages[0].instructions[0].args, ['dir c:\\   && echo']);
});

test('directives: only at the very top; later ones are plain comments', () => {
  for (const text of ['FROM busybox\n# escape=`\nRUN a \\\n b\n', '# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n', '\n# escape=`\nFROM busybox\nRUN a \\\n b\n']) {
    const df = parseDockerfile(text, 'Dockerfile');
    assert.equal(df.escape, '\\', text);
    assert.deepEqual(df.stages[0].instructions[0].args, ['a  b']);
  }
});

test('here-documents: RUN <<EOF, <<-EOF strips tabs, quoted delimiters do not expand, several per line', () => {
  const df = parseDockerfile(
    [
      'FROM busybox',
      'RUN <<EOF',
      'echo $HOME',
      '  indented',
      'EOF',
      'RUN <<-EOT sh',
      '\techo tabbed',
      '\tEOT',
      "COPY <<'one' <<\"two\" /dst/",
      'first $X',
      'one',
      'second',
      'two',
      'RUN cat <<A > /a && cat <<B > /b',
      'a',
      'A',
      'b',
      'B',
      'RUN ["sh", "-c", "cat <<EOF"]',
      'CMD <<NOT-A-HEREDOC',
    ].join('\n'),
    'Dockerfile',
  );
  const ins = df.stages[0].instructions;
  assert.deepEqual(ins.map((i) => [i.keyword, i.line]), [['RUN', 2], ['RUN', 6], ['COPY', 9], ['RUN', 14], ['RUN', 19], ['CMD', 20]]);
  assert.deepEqual(ins[0].heredocs, [{ name: 'EOF', content: 'echo $HOME\n  indented\n', expand: true, chomp: false }]);
  assert.deepEqual(ins[0].args, ['<<EOF']);
  assert.deepEqual(ins[1].heredocs, [{ name: 'EOT', content: 'echo tabbed\n', expand: true, chomp: true }]);
  assert.deepEqual(ins[2].heredocs, [
    { name: 'one', content: 'first $X\n', expand: false, chomp: false },
    { name: 'two', content: 'second\n', expand: false, chomp: false },
  ]);
  assert.deepEqual(ins[2].args, ["<<'one'", '<<"two"', '/dst/']);
  assert.deepEqual(ins[3].heredocs.map((h) => [h.name, h.content]), [['A', 'a\n'], ['B', 'b\n']]);
  assert.deepEqual(ins[4].heredocs, [], 'no here-documents in the exec form');
  assert.deepEqual(ins[5].heredocs, [], 'CMD cannot have here-documents');
});

test('ONBUILD: holds its trigger, which may have flags and here-documents', () => {
  const ins = one('ONBUILD COPY --chown=1:1 <<EOF /x\nhello\nEOF');
  assert.equal(ins.keyword, 'ONBUILD');
  assert.equal(ins.onbuild?.keyword, 'COPY');
  assert.deepEqual(ins.onbuild?.flags, [f('chown', '1:1')]);
  assert.deepEqual(ins.onbuild?.heredocs.map((h) => h.content), ['hello\n']);
});

const errorCases: [string, string, RegExp][] = [
  ['unknown instruction with a suggestion', 'FROM busybox\nCOPPY a b', /^Dockerfile:2: COPPY: unknown instruction \(did you mean COPY\?\)$/],
  ['unknown instruction far from any', 'FROM busybox\nFROBNICATE', /^Dockerfile:2: FROBNICATE: unknown instruction$/],
  ['no FROM at all', '# nothing\nARG A=1\n', /^Dockerfile: no FROM instruction/],
  ['instruction before FROM', 'RUN true\nFROM busybox', /^Dockerfile:1: RUN: no build stage in current context/],
  ['FROM without image', 'FROM', /^Dockerfile:1: FROM: requires either one or three arguments/],
  ['FROM with a bad AS', 'FROM busybox FOR x', /^Dockerfile:1: FROM: requires either one or three arguments/],
  ['bad stage name', 'FROM busybox AS 1st', /^Dockerfile:1: FROM: invalid stage name "1st"/],
  ['duplicate stage name', 'FROM busybox AS a\nFROM busybox AS A', /^Dockerfile:2: FROM: duplicate stage name "a" \(first used on line 1\)/],
  ['RUN without command', 'FROM busybox\nRUN', /^Dockerfile:2: RUN: requires at least one argument/],
  ['COPY with one argument', 'FROM busybox\nCOPY onlyone', /^Dockerfile:2: COPY: requires at least two arguments/],
  ['unknown flag for the instruction', 'FROM busybox\nCOPY --checksum=sha256:00 a b', /^Dockerfile:2: COPY: unknown flag --checksum \(COPY accepts --from, --chown/],
  ['flag on an instruction without flags', 'FROM busybox\nWORKDIR --x=1 /a', /^Dockerfile:2: WORKDIR: unknown flag --x \(WORKDIR takes no flags\)/],
  ['flag without a value', 'FROM busybox\nCOPY --from a b', /^Dockerfile:2: COPY: missing a value on flag --from/],
  ['duplicate flag', 'FROM busybox\nCOPY --from=a --from=b x y', /^Dockerfile:2: COPY: duplicate flag specified: --from/],
  ['bad boolean', 'FROM busybox\nCOPY --link=maybe a b', /^Dockerfile:2: COPY: expecting a boolean value for flag --link, not: maybe/],
  ['bad chmod', 'FROM busybox\nCOPY --chmod=999 a b', /^Dockerfile:2: COPY: invalid --chmod "999"/],
  ['bad checksum', 'FROM busybox\nADD --checksum=md5:abc http://x/y /z', /^Dockerfile:2: ADD: invalid --checksum "md5:abc"/],
  ['bad mount type', 'FROM busybox\nRUN --mount=type=nfs,target=/x true', /^Dockerfile:2: RUN: unsupported mount type "nfs"/],
  ['mount without target', 'FROM busybox\nRUN --mount=type=cache true', /^Dockerfile:2: RUN: --mount=type=cache needs target=PATH/],
  ['mount with unknown key', 'FROM busybox\nRUN --mount=type=cache,target=/x,colour=red true', /^Dockerfile:2: RUN: unexpected key 'colour'/],
  ['bad network', 'FROM busybox\nRUN --network=bridge true', /^Dockerfile:2: RUN: unsupported network mode "bridge"/],
  ['JSON array of non-strings', 'FROM busybox\nCMD ["a", 1]', /^Dockerfile:2: CMD: when using JSON array syntax, arrays must be comprised of strings only/],
  ['SHELL not in JSON form', 'FROM busybox\nSHELL /bin/sh -c', /^Dockerfile:2: SHELL: requires the arguments to be in JSON form/],
  ['ENV without =', 'FROM busybox\nENV a=1 b', /^Dockerfile:2: ENV: syntax error: can't find = in "b"/],
  ['ENV legacy without value', 'FROM busybox\nENV a', /^Dockerfile:2: ENV: must have two arguments/],
  ['ENV empty', 'FROM busybox\nENV', /^Dockerfile:2: ENV: requires at least one argument/],
  ['LABEL blank name', 'FROM busybox\nLABEL =x', /^Dockerfile:2: LABEL: names can not be blank/],
  ['ARG empty', 'FROM busybox\nARG', /^Dockerfile:2: ARG: requires at least one argument/],
  ['EXPOSE empty', 'FROM busybox\nEXPOSE', /^Dockerfile:2: EXPOSE: requires at least one argument/],
  ['VOLUME empty string', 'FROM busybox\nVOLUME [""]', /^Dockerfile:2: VOLUME: the volume path can not be an empty string/],
  ['WORKDIR empty', 'FROM busybox\nWORKDIR', /^Dockerfile:2: WORKDIR: requires exactly one argument/],
  ['USER empty', 'FROM busybox\nUSER', /^Dockerfile:2: USER: requires exactly one argument/],
  ['HEALTHCHECK bad type', 'FROM busybox\nHEALTHCHECK RUN true', /^Dockerfile:2: HEALTHCHECK: unknown type "RUN" \(use CMD or NONE\)/],
  ['HEALTHCHECK NONE with arguments', 'FROM busybox\nHEALTHCHECK NONE true', /^Dockerfile:2: HEALTHCHECK: HEALTHCHECK NONE takes no arguments/],
  ['HEALTHCHECK NONE with flags', 'FROM busybox\nHEALTHCHECK --retries=3 NONE', /^Dockerfile:2: HEALTHCHECK: HEALTHCHECK NONE takes no flags/],
  ['HEALTHCHECK CMD without command', 'FROM busybox\nHEALTHCHECK CMD', /^Dockerfile:2: HEALTHCHECK: missing command after HEALTHCHECK CMD/],
  ['HEALTHCHECK bad duration', 'FROM busybox\nHEALTHCHECK --interval=5 CMD true', /^Dockerfile:2: HEALTHCHECK: invalid duration "5"/],
  ['HEALTHCHECK interval too short', 'FROM busybox\nHEALTHCHECK --interval=10us CMD true', /^Dockerfile:2: HEALTHCHECK: --interval cannot be less than 1ms/],
  ['HEALTHCHECK negative retries', 'FROM busybox\nHEALTHCHECK --retries=-1 CMD true', /^Dockerfile:2: HEALTHCHECK: --retries cannot be negative/],
  ['ONBUILD ONBUILD', 'FROM busybox\nONBUILD ONBUILD RUN x', /^Dockerfile:2: ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/],
  ['ONBUILD FROM', 'FROM busybox\nONBUILD FROM x', /^Dockerfile:2: ONBUILD: FROM isn't allowed as an ONBUILD trigger/],
  ['ONBUILD unknown trigger', 'FROM busybox\nONBUILD RUNN x', /^Dockerfile:2: RUNN: unknown instruction \(did you mean RUN\?\)/],
  ['unterminated here-document', 'FROM busybox\nRUN <<EOF\necho', /^Dockerfile:2: unterminated heredoc/],
  ['bad escape directive', '# escape=x\nFROM busybox', /^Dockerfile:1: invalid escape token 'x'/],
  ['repeated directive', '# escape=`\n# escape=\\\nFROM busybox', /^Dockerfile:2: only one escape parser directive can be used/],
];

for (const [name, text, message] of errorCases) {
  test(`error: ${name}`, () => {
    assert.throws(
      () => parseDockerfile(text, 'Dockerfile'),
      (err: unknown) => err instanceof DockerfileError && message.test(err.message),
    );
  });
}

test('errors carry the path, line and instruction as fields', () => {
  try {
    parseDockerfile('FROM busybox\n\nCOPY x', 'sub/Dockerfile.dev');
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof DockerfileError);
    assert.equal(err.path, 'sub/Dockerfile.dev');
    assert.equal(err.line, 3);
    assert.equal(err.instruction, 'COPY');
    assert.match(err.message, /^sub\/Dockerfile\.dev:3: COPY: /);
  }
});

test('flags holding variables are checked only after expansion', () => {
  assert.deepEqual(one('COPY --chmod=$MODE a b').flags, [f('chmod', '$MODE')]);
  assert.deepEqual(one('RUN --mount=type=$T,target=/x true').flags, [f('mount', 'type=$T,target=/x')]);
});

test('ONBUILD triggers: the text Docker stores, parsed back as one instruction', () => {
  const plain = one('ONBUILD RUN echo "$HOME"');
  assert.equal(onbuildTriggerText(plain), 'RUN echo "$HOME"');
  const withHeredoc = one('ONBUILD COPY <<EOF /greeting\nhello\nEOF');
  const text = onbuildTriggerText(withHeredoc);
  assert.equal(text, 'COPY <<EOF /greeting\nhello\nEOF');
  const back = parseTrigger(text, 'Dockerfile', 1);
  assert.deepEqual(shape(back), { keyword: 'COPY', flags: [], form: 'words', args: ['<<EOF', '/greeting'] });
  assert.deepEqual(back.heredocs.map((h) => h.content), ['hello\n']);
  assert.throws(() => parseTrigger('FROM x', 'Dockerfile', 3), /Dockerfile:3: ONBUILD: in an ONBUILD trigger of the base image: FROM isn't allowed as an ONBUILD trigger$/);
  assert.throws(() => parseTrigger('RUNN x', 'Dockerfile', 3), /Dockerfile:3: RUNN: in an ONBUILD trigger of the base image: unknown instruction \(did you mean RUN\?\)/);
  assert.throws(() => parseTrigger('RUN a\nRUN b', 'Dockerfile', 3), /is not one instruction/);
});

test('a here-document cannot be the COPY destination', () => {
  assert.throws(() => parseDockerfile('FROM busybox\nCOPY a <<EOF\nx\nEOF\n', 'Dockerfile'), /Dockerfile:2: COPY: a here-document cannot be the destination/);
});

test("here-documents: the examples of Docker's Dockerfile reference", () => {
  const df = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      'FROM debian',
      'ARG FOO=bar',
      'RUN <<EOT bash',
      '  set -ex',
      '  apt-get update',
      '  apt-get install -y vim',
      'EOT',
      'COPY <<-EOT /script.sh',
      '  echo "hello ${FOO}"',
      'EOT',
      'COPY <<-"EOT" /quoted.sh',
      '  echo "hello ${FOO}"',
      'EOT',
      'RUN <<FILE1 cat > file1 && <<FILE2 cat > file2',
      'I am',
      'first',
      'FILE1',
      'I am',
      'second',
      'FILE2',
      'RUN python3 <<EOF',
      'with open("/hello", "w") as f:',
      '    print("Hello", file=f)',
      'EOF',
      'ENTRYPOINT ash /script.sh',
    ].join('\n'),
    'Dockerfile',
  );
  const ins = df.stages[0].instructions;
  assert.deepEqual(ins.map((i) => i.keyword), ['ARG', 'RUN', 'COPY', 'COPY', 'RUN', 'RUN', 'ENTRYPOINT']);
  assert.deepEqual(ins[1].args, ['<<EOT bash']);
  assert.equal(ins[1].heredocs[0].content, '  set -ex\n  apt-get update\n  apt-get install -y vim\n');
  // <<- strips tabs only: the reference's spaces stay
  assert.deepEqual(ins[2].heredocs[0], { name: 'EOT', content: '  echo "hello ${FOO}"\n', expand: true, chomp: true });
  assert.equal(ins[3].heredocs[0].expand, false);
  assert.deepEqual(ins[4].heredocs.map((h) => [h.name, h.content]), [['FILE1', 'I am\nfirst\n'], ['FILE2', 'I am\nsecond\n']]);
  assert.equal(ins[5].heredocs[0].content, 'with open("/hello", "w") as f:\n    print("Hello", file=f)\n');
  assert.deepEqual(ins[6].args, ['ash /script.sh']);
});
