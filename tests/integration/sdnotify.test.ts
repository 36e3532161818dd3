// --sdnotify as a Type=notify unit sees it, with a test listener standing in for systemd: a
// unix datagram socket named in NOTIFY_SOCKET of the `tspod run` command, as the unprivileged
// user. Containers carry a label and an `sd-` name prefix.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, tspod, waitFor } from './harness';
import { labelledContainers } from './labelled-containers';

const LABEL = 'tspod-test=sdnotify';
const { inspectField, removeOurs } = labelledContainers(LABEL);

// systemd's side: every datagram received, as one JSON string per line.
const LISTENER = `
import json, os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
print(json.dumps("listening"), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

class Listener {
  readonly messages: string[] = [];
  private constructor(
    readonly socket: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(dir: string): Promise<Listener> {
    const socket = path.join(dir, 'notify.sock');
    const child = spawn('python3', ['-c', LISTENER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    const listener = new Listener(socket, child);
    let buffered = '';
    let listening = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffered.slice(0, nl)) as string;
        buffered = buffered.slice(nl + 1);
        if (message === 'listening') listening = true;
        else listener.messages.push(message);
      }
    });
    await waitFor(() => listening, 10_000, 'the notify listener');
    return listener;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

describe('sd_notify', () => {
  let dir: string;
  let listener: Listener | undefined;
  before(() => {
    assert.equal(tspod(['pull', '-q', 'busybox']).code, 0);
    removeOurs();
  });
  after(removeOurs);
  afterEach(() => {
    listener?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function listen(): Promise<Listener> {
    // world-traversable, so the test user reaches the socket
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sysd-restart-notify-'));
    fs.chmodSync(dir, 0o755);
    listener = await Listener.start(dir);
    return listener;
  }

  test('conmon (the default): READY=1 with the monitor as MAINPID once the container started; ignore sends nothing', async () => {
    const l = await listen();
    const env = { NOTIFY_SOCKET: l.socket };
    const ignored = tspod(['run', '-d', '--name', 'sd-ignore', '-l', LABEL, '--sdnotify', 'ignore', 'busybox', 'sleep', '1000'], { env });
    assert.equal(ignored.code, 0, ignored.stderr);
    const run = tspod(['run', '-d', '--name', 'sd-conmon', '-l', LABEL, 'busybox', 'sleep', '1000'], { env });
    assert.equal(run.code, 0, run.stderr);
    await waitFor(() => l.messages.length > 0, 10_000, 'a notification');
    const monitorPid = inspectField('sd-conmon', '{{.State.ConmonPid}}');
    // the first and only message is the conmon container's: the ignored one sent none
    assert.deepEqual(l.messages, [`MAINPID=${monitorPid}\nREADY=1\n`]);
    assert.equal(inspectField('sd-conmon', '{{.State.Status}}'), 'running');
    // no NOTIFY_SOCKET leaks into the container
    assert.doesNotMatch(tspod(['exec', 'sd-conmon', 'env']).stdout, /NOTIFY_SOCKET/);
  });

  test('container: the container says READY=1 on its own socket, relayed with its host pid as MAINPID', async () => {
    const l = await listen();
    const helper = path.join(testEnv.installDir, 'native/build/tspod-sdnotify');
    assert.ok(fs.existsSync(helper), helper);
    // says something before READY=1 (not relayed), then READY=1 with its own MAINPID, then a status
    const script = 'notify "$NOTIFY_SOCKET" STATUS=booting; notify "$NOTIFY_SOCKET" "$(printf "MAINPID=1\\nREADY=1")"; notify "$NOTIFY_SOCKET" STATUS=serving; exec sleep 1000';
    const run = tspod(['run', '-d', '--name', 'sd-container', '-l', LABEL, '--sdnotify', 'container', '-v', `${helper}:/bin/notify:ro`, 'busybox', 'sh', '-c', script], { env: { NOTIFY_SOCKET: l.socket } });
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    await waitFor(() => l.messages.length >= 2, 20_000, 'two notifications').catch((err: Error) => {
      throw new Error(`${err.message}: got ${JSON.stringify(l.messages)}`);
    });
    const pid = inspectField(id, '{{.State.Pid}}');
    assert.deepEqual(l.messages, [`MAINPID=${pid}\nREADY=1\n`, `MAINPID=${pid}\nSTATUS=serving\n`]);
    assert.match(tspod(['exec', id, 'env']).stdout, /^NOTIFY_SOCKET=\/run\/notify\/notify\.sock$/m);
  });

  test('a bad --sdnotify is refused', () => {
    const r = tspod(['create', '-l', LABEL, '--sdnotify', 'always', 'busybox']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /invalid --sdnotify "always"/);
  });
});
