// Finding helper programs (runc, slirp4netns, ...) on PATH and asking their versions.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/libexec/podman'];

export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    // Most candidates on PATH do not exist: stat first, without the cost of an exception.
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The line of `prog --version` that names the program (fuse-overlayfs prints fusermount's
 * version first), else its first line; '' when it cannot be run.
 */
export function programVersion(file: string, args = ['--version']): Promise<string> {
  const name = path.basename(file);
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5000 }, (_err, stdout, stderr) => {
      const lines = `${stdout ?? ''}${stderr ?? ''}`.trim().split('\n');
      resolve((lines.find((l) => l.includes(name) && /version/i.test(l)) ?? lines[0] ?? '').trim());
    });
  });
}

export interface ProgramInfo {
  executable: string;
  version: string;
}

export async function describeProgram(name: string, args?: string[]): Promise<ProgramInfo | undefined> {
  const file = findExecutable(name);
  if (!file) return undefined;
  return { executable: file, version: await programVersion(file, args) };
}
