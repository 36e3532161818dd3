// A container's files as the unprivileged user: cp both ways (paths, modes, owners, symlinks,
// tar streams, stopped containers, hostile tars), export, diff and commit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asUser, resetUserState, testEnv, tspod } from './harness';

const C = 'files1';

function ok(args: string[], opts: { input?: string } = {}): string {
  const r = tspod(args, { timeoutMs: 120_000, ...opts });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function sh(script: string): string {
  const r = asUser(['sh', '-c', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  return r.stdout;
}

function inContainer(script: string, name = C): string {
  return ok(['exec', name, 'sh', '-c', script]);
}

describe('container files', () => {
  const work = path.join(testEnv.home, 'files-test');

  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    asUser(['rm', '-rf', work]);
    asUser(['mkdir', '-p', work]);
    ok(['run', '-d', '--name', C, 'busybox', 'sleep', '1000']);
  });

  after(() => {
    tspod(['rm', '-f', C, 'files-stopped', 'files-commit']);
    asUser(['rm', '-rf', work]);
  });

  test('a directory tree goes in with its modes; owners become root, -a keeps them', () => {
    sh(`cd ${work} && mkdir -p tree/sub && echo one > tree/sub/f && chmod 750 tree/sub && chmod 640 tree/sub/f && ln -s /etc/passwd tree/link`);
    ok(['cp', `${work}/tree`, `${C}:/root`]);
    const listing = inContainer('ls -ln /root/tree /root/tree/sub');
    assert.match(listing, /^drwxr-x---\s+\d+\s+0\s+0\s.*\ssub$/m);
    assert.match(listing, /^lrwxrwxrwx\s+\d+\s+0\s+0\s.*\slink -> \/etc\/passwd$/m);
    assert.match(listing, /^-rw-r-----\s+\d+\s+0\s+0\s+4\s.*\sf$/m);
    // contents only with /.; a file onto a new name
    inContainer('mkdir /contents');
    ok(['cp', `${work}/tree/.`, `${C}:/contents`]);
    assert.equal(inContainer('ls /contents'), 'link\nsub\n');
    ok(['cp', `${work}/tree/sub/f`, `${C}:/renamed`]);
    assert.equal(inContainer('cat /renamed'), 'one\n');
    // a missing destination's parent must exist
    const r = tspod(['cp', `${work}/tree`, `${C}:/no/such/dir`]);
    assert.equal(r.code, 125);
    // a tar with uid 1000 entries: root's by default, kept with -a
    sh(`cd ${work} && echo u > owned && tar --owner=1000 --group=1000 -cf owned.tar owned`);
    inContainer('mkdir /plain /archive');
    sh(`tspod cp - ${C}:/plain < ${work}/owned.tar && tspod cp -a - ${C}:/archive < ${work}/owned.tar`);
    assert.match(inContainer('ls -ln /plain/owned'), /^-\S+\s+\d+\s+0\s+0\s/);
    assert.match(inContainer('ls -ln /archive/owned'), /^-\S+\s+\d+\s+1000\s+1000\s/);
  });

  test('files come out owned by the caller, with modes kept; symlinks stay links unless -L', () => {
    inContainer('mkdir -p /out/d && echo data > /out/d/file && chown -R 1000:1000 /out && chmod 604 /out/d/file && ln -s /etc/passwd /out/pw');
    ok(['cp', `${C}:/out`, work]);
    const st = fs.statSync(path.join(work, 'out/d/file'));
    assert.equal(st.uid, testEnv.uid);
    assert.equal(st.gid, testEnv.gid);
    assert.equal(st.mode & 0o777, 0o604);
    assert.equal(fs.readFileSync(path.join(work, 'out/d/file'), 'utf8'), 'data\n');
    assert.equal(fs.readlinkSync(path.join(work, 'out/pw')), '/etc/passwd');
    // -L follows the link, inside the container: the container's passwd, not the host's
    ok(['cp', '-L', `${C}:/out/pw`, path.join(work, 'passwd-copy')]);
    const text = fs.readFileSync(path.join(work, 'passwd-copy'), 'utf8');
    assert.equal(text, inContainer('cat /etc/passwd'));
    assert.match(text, /^tester:x:1000:1000:/m);
  });

  test('a path through a symlink to /etc/passwd resolves inside the container', () => {
    inContainer('mkdir -p /lnk && ln -s /etc /lnk/etc && ln -s ../../../../../etc/passwd /lnk/up');
    ok(['cp', `${C}:/lnk/etc/passwd`, path.join(work, 'through-link')]);
    assert.equal(fs.readFileSync(path.join(work, 'through-link'), 'utf8'), inContainer('cat /etc/passwd'));
    ok(['cp', '-L', `${C}:/lnk/up`, path.join(work, 'through-dotdot')]);
    assert.equal(fs.readFileSync(path.join(work, 'through-dotdot'), 'utf8'), inContainer('cat /etc/passwd'));
    // writing through a link lands inside the container too
    sh(`echo planted > ${work}/planted`);
    ok(['cp', `${work}/planted`, `${C}:/lnk/etc/`]);
    assert.equal(inContainer('cat /etc/planted'), 'planted\n');
  });

  test('tar streams with -', () => {
    const list = asUser(['sh', '-c', `tspod cp ${C}:/etc - | tar -t`]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^etc\/passwd$/m);
    sh(`mkdir -p ${work}/stream && cd ${work}/stream && echo s1 > s1 && mkdir dd && echo s2 > dd/s2`);
    inContainer('mkdir /dst');
    sh(`cd ${work}/stream && tar -c . | tspod cp - ${C}:/dst`);
    assert.equal(inContainer('cat /dst/s1 /dst/dd/s2'), 's1\ns2\n');
  });

  test('a hostile tar is refused and writes nothing outside', () => {
    const evil = path.join(work, 'evil.tar');
    const script = path.join(work, 'evil.py');
    fs.writeFileSync(
      script,
      [
        'import tarfile, io, sys',
        't = tarfile.open(sys.argv[1], "w")',
        'data = b"escaped"',
        'i = tarfile.TarInfo("../../../../../../../tmp/tspod-cp-escape"); i.size = len(data); t.addfile(i, io.BytesIO(data))',
        't.close()',
      ].join('\n'),
    );
    const made = asUser(['python3', script, evil]);
    assert.equal(made.code, 0, made.stderr);
    const r = asUser(['sh', '-c', `tspod cp - ${C}:/tmp < ${evil}`]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: .*leaves/m);
    assert.equal(fs.existsSync('/tmp/tspod-cp-escape'), false);
  });

  test('cp works on a stopped container, both ways', () => {
    ok(['run', '--name', 'files-stopped', 'busybox', 'sh', '-c', 'echo stopped > /state']);
    ok(['cp', 'files-stopped:/state', path.join(work, 'state')]);
    assert.equal(fs.readFileSync(path.join(work, 'state'), 'utf8'), 'stopped\n');
    sh(`echo back > ${work}/back`);
    ok(['cp', `${work}/back`, 'files-stopped:/back']);
    ok(['start', '-a', 'files-stopped']);
    const r = tspod(['cp', 'files-stopped:/back', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /back\n/);
  });

  test('paths under a volume or bind mount reach the mount, as the container sees it', () => {
    sh(`mkdir -p ${work}/bind && echo frombind > ${work}/bind/b && echo tovol > ${work}/tovol`);
    ok(['run', '-d', '--name', 'files-mounts', '-v', 'files-vol:/data', '-v', `${work}/bind:/mnt/b`, 'busybox', 'sleep', '1000']);
    try {
      ok(['cp', `${work}/tovol`, 'files-mounts:/data/']);
      assert.equal(ok(['exec', 'files-mounts', 'cat', '/data/tovol']), 'tovol\n');
      ok(['cp', 'files-mounts:/mnt/b/b', path.join(work, 'b-copy')]);
      assert.equal(fs.readFileSync(path.join(work, 'b-copy'), 'utf8'), 'frombind\n');
    } finally {
      tspod(['rm', '-f', 'files-mounts']);
      tspod(['volume', 'rm', 'files-vol']);
    }
  });

  test('bad input: no container side, a missing container', () => {
    const none = tspod(['cp', '/etc/passwd', 'here']);
    assert.equal(none.code, 125);
    assert.equal(none.stderr.trim().split('\n').length, 1);
    assert.match(none.stderr, /must specify at least one container/);
    const missing = tspod(['cp', 'no-such-container:/etc/passwd', work]);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /no-such-container/);
  });

  test('export is a tar of the whole filesystem', () => {
    const r = asUser(['sh', '-c', `tspod export ${C} | tar -t`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^bin\/busybox$/m);
    assert.match(r.stdout, /^renamed$/m);
    const file = path.join(work, 'export.tar');
    ok(['export', '-o', file, C]);
    assert.ok(fs.statSync(file).size > 1_000_000);
  });

  test('diff lists A, C and D', () => {
    ok(['run', '-d', '--name', 'files-commit', 'busybox', 'sleep', '1000']);
    inContainer('echo kept > /etc/added-file && rm /etc/group && echo x >> /etc/profile 2>/dev/null; echo x >> /etc/passwd', 'files-commit');
    const lines = ok(['diff', 'files-commit']).split('\n').filter(Boolean);
    const paths = lines.map((l) => l.slice(2));
    assert.deepEqual([...paths].sort(), paths);
    assert.ok(lines.includes('A /etc/added-file'), lines.join('\n'));
    assert.ok(lines.includes('C /etc'), lines.join('\n'));
    assert.ok(lines.includes('C /etc/passwd'), lines.join('\n'));
    assert.ok(lines.includes('D /etc/group'), lines.join('\n'));
    const json = JSON.parse(ok(['diff', '--format', 'json', 'files-commit'])) as { added?: string[]; deleted?: string[] };
    assert.ok(json.added?.includes('/etc/added-file'));
    assert.deepEqual(json.deleted, ['/etc/group']);
  });

  test('commit makes an image with the changes and the --change', () => {
    const r = tspod(['commit', '-m', 'files test', '-a', 'tester', '-c', 'CMD ["echo","committed"]', 'files-commit', 'files-img']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    assert.match(r.stderr, /Writing manifest/);
    assert.equal(ok(['run', '--rm', 'files-img']), 'committed\n');
    assert.equal(ok(['run', '--rm', 'localhost/files-img:latest', 'cat', '/etc/added-file']), 'kept\n');
    const gone = tspod(['run', '--rm', 'files-img', 'ls', '/etc/group']);
    assert.notEqual(gone.code, 0);
    const info = JSON.parse(ok(['image', 'inspect', 'files-img'])) as { Author?: string; Comment?: string }[];
    assert.equal(info[0].Author, 'tester');
    const history = ok(['history', '--format', '{{.Comment}}', 'files-img']);
    assert.match(history, /^files test$/m);
    const q = tspod(['commit', '-q', 'files-commit']);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stderr, '');
    assert.match(q.stdout, /^[0-9a-f]{64}\n$/);
    ok(['rmi', 'files-img']);
  });
});
