// --change parsing: Dockerfile syntax for the config instructions, as docker/podman import take it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyChanges, exposedPorts, parseChange, splitWords, unquote } from '../../pkg/image/config-changes';
import { InvalidArgumentError } from '../../pkg/errors';

describe('parseChange', () => {
  it('splits instruction and arguments, case-insensitively', () => {
    assert.deepEqual(parseChange('cmd ["sh"]'), { instruction: 'CMD', args: '["sh"]', source: 'cmd ["sh"]' });
    assert.equal(parseChange('  ENV   A=1  ').args, 'A=1');
  });
  it("accepts Podman's INSTRUCTION=value form", () => {
    assert.deepEqual(applyChanges({}, ['CMD=/bin/bash']), { Cmd: ['/bin/sh', '-c', '/bin/bash'] });
    assert.deepEqual(applyChanges({}, ['ENV=A=1']), { Env: ['A=1'] });
  });
  it('refuses unknown instructions and missing arguments with the change in the message', () => {
    assert.throws(() => parseChange('RUN echo hi'), (e: Error) => e instanceof InvalidArgumentError && /"RUN echo hi".*RUN is not a valid change instruction/.test(e.message));
    assert.throws(() => parseChange('FROM scratch'), InvalidArgumentError);
    assert.throws(() => parseChange('ENV'), /ENV requires an argument/);
    assert.throws(() => parseChange(''), InvalidArgumentError);
  });
});

describe('CMD and ENTRYPOINT', () => {
  it('takes JSON exec form as given', () => {
    assert.deepEqual(applyChanges({}, ['CMD ["/bin/sh", "-c", "echo $HOME"]']), { Cmd: ['/bin/sh', '-c', 'echo $HOME'] });
    assert.deepEqual(applyChanges({}, ['ENTRYPOINT ["/entry"]']), { Entrypoint: ['/entry'] });
  });
  it('wraps shell form in /bin/sh -c, or the image shell', () => {
    assert.deepEqual(applyChanges({}, ['CMD echo "hi there"']), { Cmd: ['/bin/sh', '-c', 'echo "hi there"'] });
    assert.deepEqual(applyChanges({ Shell: ['/bin/bash', '-ec'] }, ['ENTRYPOINT exec x']).Entrypoint, ['/bin/bash', '-ec', 'exec x']);
  });
  it('falls back to shell form for invalid JSON, as Docker does', () => {
    assert.deepEqual(applyChanges({}, ['CMD [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
    assert.deepEqual(applyChanges({}, ['CMD ["a", 1]']).Cmd, ['/bin/sh', '-c', '["a", 1]']);
  });
  it('replaces, never appends', () => {
    assert.deepEqual(applyChanges({ Cmd: ['old'] }, ['CMD ["new"]']).Cmd, ['new']);
  });
});

describe('ENV', () => {
  it('sets several pairs with quotes and escapes', () => {
    assert.deepEqual(applyChanges({}, ['ENV A=1 B="x y" C=a\\ b D=\'$lit\'']).Env, ['A=1', 'B=x y', 'C=a b', 'D=$lit']);
  });
  it('replaces an existing variable and keeps the others in order', () => {
    assert.deepEqual(applyChanges({ Env: ['PATH=/bin', 'A=0', 'B=2'] }, ['ENV A=1']).Env, ['PATH=/bin', 'B=2', 'A=1']);
  });
  it('expands variables from the config as it was before the line, as a Dockerfile does', () => {
    assert.deepEqual(applyChanges({ Env: ['PATH=/bin'] }, ['ENV PATH=$PATH:/x Y=${PATH}/y Z=${NOPE:-dflt} W=${PATH:+set}']).Env, [
      'PATH=/bin:/x',
      'Y=/bin/y',
      'Z=dflt',
      'W=set',
    ]);
    assert.deepEqual(applyChanges({}, ['ENV A=\\$HOME']).Env, ['A=$HOME']);
    assert.deepEqual(applyChanges({}, ['ENV A=1', 'ENV B=$A']).Env, ['A=1', 'B=1']);
  });
  it('accepts the legacy "ENV key value with blanks" form', () => {
    assert.deepEqual(applyChanges({}, ['ENV GREETING hello   world']).Env, ['GREETING=hello   world']);
    assert.deepEqual(applyChanges({}, ['ENV Q "quoted value"']).Env, ['Q=quoted value']);
    assert.throws(() => applyChanges({}, ['ENV ONLYKEY']), /needs a value/);
  });
  it('refuses an unterminated quote', () => {
    assert.throws(() => applyChanges({}, ['ENV A="open']), /unterminated quote/);
  });
});

describe('LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ONBUILD', () => {
  it('LABEL sets keys, quoted keys and values included', () => {
    assert.deepEqual(applyChanges({ Labels: { keep: '1' } }, ['LABEL a=b "my key"="my value" org.x=\'y z\'']).Labels, {
      keep: '1',
      a: 'b',
      'my key': 'my value',
      'org.x': 'y z',
    });
    assert.deepEqual(applyChanges({}, ['LABEL legacy some value']).Labels, { legacy: 'some value' });
  });
  it('EXPOSE adds ports with default tcp, protocols and ranges', () => {
    assert.deepEqual(applyChanges({ ExposedPorts: { '22/tcp': {} } }, ['EXPOSE 80 53/UDP 8000-8002/tcp']).ExposedPorts, {
      '22/tcp': {},
      '80/tcp': {},
      '53/udp': {},
      '8000/tcp': {},
      '8001/tcp': {},
      '8002/tcp': {},
    });
    assert.throws(() => applyChanges({}, ['EXPOSE 70000']), /65535/);
    assert.throws(() => applyChanges({}, ['EXPOSE 80/icmp']), /protocol/);
    assert.throws(() => applyChanges({}, ['EXPOSE http']), /invalid port/);
    assert.throws(() => exposedPorts('90-80'), /below the start/);
  });
  it('VOLUME takes JSON or words', () => {
    assert.deepEqual(applyChanges({}, ['VOLUME ["/a", "/b c"]']).Volumes, { '/a': {}, '/b c': {} });
    assert.deepEqual(applyChanges({ Volumes: { '/x': {} } }, ['VOLUME /data /logs']).Volumes, { '/x': {}, '/data': {}, '/logs': {} });
  });
  it('USER takes one word', () => {
    assert.equal(applyChanges({}, ['USER 1000:1000']).User, '1000:1000');
    assert.equal(applyChanges({}, ['USER "nobody"']).User, 'nobody');
    assert.throws(() => applyChanges({}, ['USER a b']), /exactly one argument/);
  });
  it('WORKDIR resolves relative paths against the current one', () => {
    assert.equal(applyChanges({}, ['WORKDIR /srv/app/']).WorkingDir, '/srv/app');
    assert.equal(applyChanges({ WorkingDir: '/srv' }, ['WORKDIR app']).WorkingDir, '/srv/app');
    assert.equal(applyChanges({}, ['WORKDIR rel']).WorkingDir, '/rel');
    assert.equal(applyChanges({ Env: ['BASE=/opt'] }, ['WORKDIR $BASE/x']).WorkingDir, '/opt/x');
  });
  it('STOPSIGNAL takes a name or a number', () => {
    assert.equal(applyChanges({}, ['STOPSIGNAL SIGTERM']).StopSignal, 'SIGTERM');
    assert.equal(applyChanges({}, ['STOPSIGNAL 9']).StopSignal, '9');
    assert.equal(applyChanges({}, ['STOPSIGNAL SIGRTMIN+3']).StopSignal, 'SIGRTMIN+3');
    assert.throws(() => applyChanges({}, ['STOPSIGNAL not a signal']), /invalid signal/);
  });
  it('ONBUILD stores triggers literally and refuses chaining', () => {
    assert.deepEqual(applyChanges({ OnBuild: ['RUN a'] }, ['ONBUILD run echo $X']).OnBuild, ['RUN a', 'RUN echo $X']);
    assert.throws(() => applyChanges({}, ['ONBUILD ONBUILD RUN x']), /isn't allowed/);
    assert.throws(() => applyChanges({}, ['ONBUILD FROM x']), /isn't allowed/);
  });
  it('never changes the config it was given', () => {
    const base = { Env: ['A=1'], Labels: { a: '1' } };
    const frozen = JSON.stringify(base);
    applyChanges(base, ['ENV A=2', 'LABEL a=2', 'CMD x']);
    assert.equal(JSON.stringify(base), frozen);
  });
});

describe('words', () => {
  it('splitWords keeps quoted blanks and escapes inside words', () => {
    assert.deepEqual(splitWords(`a "b c" d\\ e 'f g'`), ['a', '"b c"', 'd\\ e', "'f g'"]);
  });
  it('unquote handles mixed quoting', () => {
    assert.equal(unquote(`"a"'b'c\\"d`), 'abc"d');
    assert.equal(unquote(`"keep \\n backslash"`), 'keep \\n backslash');
  });
});
