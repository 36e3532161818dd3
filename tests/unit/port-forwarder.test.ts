// tspod-portfwd's --watch-pid -: a forwarder started before the container's process exists gets
// its pid later on stdin, and goes away when the start that launched it gives up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { startPortForwarder } from '../../pkg/network/port-forwarder';
import { processAlive } from '../../pkg/host/processes';
import { killHelper } from '../../pkg/network/helper-process';

const mapping = { protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 0, containerPort: 9, count: 1 };

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  return !processAlive(pid);
}

/** Whether the process holds a pidfd (it read the pid it was handed and watches it). */
function holdsPidfd(pid: number): boolean {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[pidfd]');
  } catch {
    return false;
  }
}

/** Whether 127.0.0.1:port is bound (by the forwarder): binding it fails with EADDRINUSE. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(true) : reject(err)));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

test('a forwarder told no pid exits and frees its port', async () => {
  const fwd = await startPortForwarder({ targetIp: '127.0.0.1', watchPid: 'later', mappings: [mapping] });
  assert.ok(fwd.ports[0].hostPort > 0);
  assert.ok(await portTaken(fwd.ports[0].hostPort));
  assert.ok(fwd.watch, 'a forwarder waiting for its pid can be handed one');
  fwd.watch();
  assert.ok(await gone(fwd.helper.pid), 'the forwarder exited');
  assert.equal(await portTaken(fwd.ports[0].hostPort), false);
});

test('a forwarder handed a pid later keeps serving until that process ends', async () => {
  const watched = spawn('sleep', ['30'], { stdio: 'ignore' });
  const fwd = await startPortForwarder({ targetIp: '127.0.0.1', watchPid: 'later', mappings: [mapping] });
  try {
    fwd.watch?.(watched.pid);
    for (let i = 0; i < 200 && !holdsPidfd(fwd.helper.pid); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(holdsPidfd(fwd.helper.pid), 'the forwarder watches the pid it was handed');
    assert.ok(processAlive(fwd.helper.pid), 'still serving while the watched process runs');
    assert.ok(await portTaken(fwd.ports[0].hostPort));
    watched.kill('SIGKILL');
    assert.ok(await gone(fwd.helper.pid), 'the forwarder exited with the watched process');
  } finally {
    watched.kill('SIGKILL');
    killHelper(fwd.helper);
  }
});
