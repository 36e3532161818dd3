import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpansionError, expandHeredocContent, expandInstruction, expandWord } from '../../pkg/build/variable-expansion';
import { parseDockerfile } from '../../pkg/build/dockerfile-parser';
import type { Instruction } from '../../pkg/build/dockerfile-types';

const env: Record<string, string> = { NAME: 'world', EMPTY: '', PATHS: 'a/b/c.tar.gz', SPACED: 'x  y', U: 'app', G: 'staff' };
const lookup = (n: string) => env[n];

// [word, expected] with the default escape character
const cases: [string, string][] = [
  ['hello', 'hello'],
  ['$NAME', 'world'],
  ['${NAME}', 'world'],
  ['pre${NAME}post', 'preworldpost'],
  ['$NAME.txt', 'world.txt'],
  ['$NAMEx', ''],
  ['$UNSET', ''],
  ['${UNSET}', ''],
  ['$', '$'],
  ['a$', 'a$'],
  ['$/', '$/'],
  ['$1', ''],
  ['$$', ''],
  ['${UNSET:-fallback}', 'fallback'],
  ['${EMPTY:-fallback}', 'fallback'],
  ['${EMPTY-fallback}', ''],
  ['${UNSET-fallback}', 'fallback'],
  ['${NAME:-fallback}', 'world'],
  ['${UNSET:-$NAME}', 'world'],
  ['${UNSET:-${ALSO:-deep}}', 'deep'],
  ['${UNSET:-two words}', 'two words'],
  ['${NAME:+alt}', 'alt'],
  ['${EMPTY:+alt}', ''],
  ['${EMPTY+alt}', 'alt'],
  ['${UNSET+alt}', ''],
  ['${NAME?}', 'world'],
  ['${PATHS#*/}', 'b/c.tar.gz'],
  ['${PATHS##*/}', 'c.tar.gz'],
  ['${PATHS%.*}', 'a/b/c.tar'],
  ['${PATHS%%.*}', 'a/b/c'],
  ['${PATHS#x}', 'a/b/c.tar.gz'],
  ['${PATHS/\\//-}', 'a-b/c.tar.gz'],
  ['${PATHS//\\//-}', 'a-b-c.tar.gz'],
  ['${NAME/o/0}', 'w0rld'],
  ['${NAME/w*/}', ''],
  ["'$NAME'", '$NAME'],
  ['"$NAME"', 'world'],
  ['"${NAME} and \'$NAME\'"', "world and 'world'"],
  ['"a \\"quoted\\" word"', 'a "quoted" word'],
  ['"\\$NAME"', '$NAME'],
  ['"back\\slash"', 'back\\slash'],
  ['\\$NAME', '$NAME'],
  ['\\\\$NAME', '\\world'],
  ['a\\ b', 'a b'],
  ['trailing\\', 'trailing'],
  ['"it\'s"', "it's"],
  ["'a\\'", 'a\\'],
  ['$SPACED', 'x  y'],
  ['${U}:${G}', 'app:staff'],
];

for (const [word, expected] of cases) {
  test(`expandWord: ${word}`, () => {
    assert.equal(expandWord(word, lookup, '\\'), expected);
  });
}

test('expandWord: the backtick escape character', () => {
  assert.equal(expandWord('`$NAME', lookup, '`'), '$NAME');
  assert.equal(expandWord('c:\\dir\\$NAME', lookup, '`'), 'c:\\dir\\world');
  assert.equal(expandWord('"a `"b`""', lookup, '`'), 'a "b"');
});

const errorCases: [string, RegExp][] = [
  ['${', /missing '}'/],
  ['${NAME', /missing '}'/],
  ['${NAME:-x', /missing '}'/],
  ['${}', /bad substitution/],
  ['${:x}', /bad substitution/],
  ['${NAME!x}', /unsupported modifier \(!\)/],
  ['${NAME:=x}', /unsupported modifier \(:=\)/],
  ['${UNSET?}', /UNSET: is not allowed to be unset/],
  ['${UNSET?must be set}', /UNSET: must be set/],
  ['${EMPTY:?}', /EMPTY: is not allowed to be empty/],
  ['"open', /matching double-quote/],
  ["'open", /matching single-quote/],
  ['${NAME/x}', /missing '\/'/],
];
for (const [word, message] of errorCases) {
  test(`expandWord error: ${word}`, () => {
    assert.throws(() => expandWord(word, lookup, '\\'), (err: unknown) => err instanceof ExpansionError && message.test(err.message));
  });
}

test('here-document bodies: variables expanded, quotes kept, \\$ escapes', () => {
  assert.equal(expandHeredocContent('say "$NAME" and \'${NAME}\'\ncost \\$5 \\n\n', lookup, '\\'), 'say "world" and \'world\'\ncost $5 \\n\n');
});

function stageInstructions(text: string): Instruction[] {
  return parseDockerfile(`FROM busybox\n${text}\n`, 'Dockerfile').stages[0].instructions;
}

test('expandInstruction: expands exactly where Docker does', () => {
  const ins = stageInstructions(
    [
      'RUN echo $NAME',
      'CMD echo $NAME',
      'ENTRYPOINT ["$NAME"]',
      'COPY --chown=$U:$G --from=${NAME} $NAME /dst/$NAME/',
      'ADD --chmod=${MODE:-0644} ${NAME}.tar /',
      'ENV KEY_$U="$NAME again" OTHER=${UNSET:-d}',
      'ENV OLD $NAME with spaces',
      'LABEL "who"="$NAME"',
      'ARG A=$NAME B',
      'EXPOSE $PORTS 443',
      'WORKDIR /home/$U',
      'USER ${U}:${G}',
      'VOLUME ["/data/$NAME"]',
      'STOPSIGNAL SIG$SIG',
      'MAINTAINER $NAME',
      'HEALTHCHECK CMD echo $NAME',
      'ONBUILD RUN echo $NAME',
      'RUN --mount=type=cache,target=/cache/$NAME,id=$U true',
    ].join('\n'),
  );
  const vars = (n: string) => ({ ...env, PORTS: '80 8080/udp', SIG: 'KILL' })[n];
  const out = ins.map((i) => expandInstruction(i, vars, '\\'));
  assert.deepEqual(out[0].args, ['echo $NAME']);
  assert.deepEqual(out[1].args, ['echo $NAME']);
  assert.deepEqual(out[2].args, ['$NAME']);
  assert.deepEqual(out[3].args, ['world', '/dst/world/']);
  assert.deepEqual(out[3].flags, [{ name: 'chown', value: 'app:staff' }, { name: 'from', value: 'world' }]);
  assert.deepEqual(out[4].flags, [{ name: 'chmod', value: '0644' }]);
  assert.deepEqual(out[4].args, ['world.tar', '/']);
  assert.deepEqual(out[5].args, ['KEY_app=world again', 'OTHER=d']);
  assert.deepEqual(out[6].args, ['OLD=world with spaces']);
  assert.deepEqual(out[7].args, ['who=world']);
  assert.deepEqual(out[8].args, ['A=world', 'B']);
  assert.deepEqual(out[9].args, ['80', '8080/udp', '443']);
  assert.deepEqual(out[10].args, ['/home/app']);
  assert.deepEqual(out[11].args, ['app:staff']);
  assert.deepEqual(out[12].args, ['/data/world']);
  assert.deepEqual(out[13].args, ['SIGKILL']);
  assert.deepEqual(out[14].args, ['$NAME']);
  assert.deepEqual(out[15].args, ['CMD', 'echo $NAME']);
  assert.equal(out[16].onbuild?.args[0], 'echo $NAME');
  assert.deepEqual(out[17].flags, [{ name: 'mount', value: 'type=cache,target=/cache/world,id=app' }]);
  assert.deepEqual(out[17].args, ['true']);
  assert.deepEqual(ins[3].args, ['$NAME', '/dst/$NAME/'], 'the parsed instruction is not modified');
});

test('expandInstruction: FROM expands the image and --platform, never the stage name', () => {
  const df = parseDockerfile('ARG TAG=1.36\nFROM --platform=$P busybox:$TAG AS base\n', 'Dockerfile');
  const from = expandInstruction(df.stages[0].from, (n) => ({ TAG: '1.36', P: 'linux/amd64' })[n], '\\');
  assert.deepEqual(from.args, ['busybox:1.36', 'AS', 'base']);
  assert.deepEqual(from.flags, [{ name: 'platform', value: 'linux/amd64' }]);
});

test('expandInstruction: COPY here-documents expand unless the delimiter is quoted; RUN ones never', () => {
  const ins = stageInstructions(['COPY <<A <<"B" /dst/', '$NAME', 'A', '$NAME', 'B', 'RUN <<C', 'echo $NAME', 'C'].join('\n'));
  const copy = expandInstruction(ins[0], lookup, '\\');
  assert.deepEqual(copy.heredocs.map((h) => h.content), ['world\n', '$NAME\n']);
  assert.deepEqual(expandInstruction(ins[1], lookup, '\\').heredocs[0].content, 'echo $NAME\n');
});

test('expandInstruction: a malformed word throws ExpansionError', () => {
  const [ins] = stageInstructions('WORKDIR ${NAME');
  assert.throws(
    () => expandInstruction(ins, lookup, '\\'),
    (err: unknown) =>
      err instanceof ExpansionError && err.exitCode === 125 && err.line === 2 && err.instruction === 'WORKDIR' && err.message === "line 2: WORKDIR: syntax error: missing '}'",
  );
});

test("examples from Docker's Dockerfile reference", () => {
  // "Environment replacement": ADD . $FOO and COPY \$FOO /quux
  const df = parseDockerfile(
    ['FROM busybox', 'ENV FOO=/bar', 'WORKDIR ${FOO}', 'ADD . $FOO', 'COPY \\$FOO /quux', 'ENV abc=hello', 'ENV abc=bye def=$abc', 'ENV ghi=$abc'].join('\n'),
    'Dockerfile',
  );
  const env = new Map<string, string>();
  const vars = (n: string) => env.get(n);
  const out: string[][] = [];
  for (const ins of df.stages[0].instructions) {
    const expanded = expandInstruction(ins, vars, df.escape);
    out.push(expanded.args);
    // ENV takes effect after the whole instruction: `ENV abc=bye def=$abc` gives def=hello
    if (ins.keyword === 'ENV') for (const w of expanded.args) env.set(w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1));
  }
  assert.deepEqual(out, [['FOO=/bar'], ['/bar'], ['.', '/bar'], ['$FOO', '/quux'], ['abc=hello'], ['abc=bye', 'def=hello'], ['ghi=bye']]);

  // "ENV": quotes and backslashes as in the reference's examples
  const [env1] = stageInstructions('ENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy');
  assert.deepEqual(expandInstruction(env1, () => undefined, '\\').args, ['MY_NAME=John Doe', 'MY_DOG=Rex The Dog', 'MY_CAT=fluffy']);

  // "escape": the Windows example, where \ stays a path separator
  const win = parseDockerfile('# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n', 'Dockerfile');
  assert.deepEqual(win.stages[0].instructions.map((i) => expandInstruction(i, () => undefined, win.escape).args), [['testfile.txt', 'c:\\'], ['dir c:\\']]);
});
