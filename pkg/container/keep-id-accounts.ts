// --userns=keep-id: the user runs inside under their own ids, which the image's /etc/passwd and
// /etc/group usually do not name. Podman adds the user (name and home from the host) to copies
// of both, so `whoami`, `id -un` and shells that look up $HOME work; tspod does the same with
// files in the container's userdata directory, bind-mounted over the image's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readContainerFile, parseGroup, parsePasswd } from '../runtime/container-user';
import { MountInput } from '../runtime/oci-spec';

/** The host's passwd entry of uid: name and home (tspod's mount namespace sees the host's /etc). */
function hostAccount(uid: number): { name: string; home: string } {
  const entry = parsePasswd(fs.readFileSync('/etc/passwd', 'utf8')).find((e) => e.uid === uid);
  return { name: entry?.name ?? `user${uid}`, home: entry?.home || '/' };
}

export interface KeepIdAccounts {
  mounts: MountInput[];
  /** HOME for the process: the passwd entry's (the image's own when it names the uid) */
  home: string;
}

/** The passwd/group copies with the user added, where the image lacks them. */
export function keepIdAccounts(rootfs: string, userdata: string, user: { uid: number; gid: number }, hostUid: number): KeepIdAccounts {
  const passwdText = readContainerFile(rootfs, '/etc/passwd') ?? '';
  const groupText = readContainerFile(rootfs, '/etc/group') ?? '';
  const account = hostAccount(hostUid);
  const mounts: MountInput[] = [];
  const add = (file: string, text: string, line: string): void => {
    const copy = path.join(userdata, file);
    fs.writeFileSync(copy, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`, { mode: 0o644 });
    mounts.push({ type: 'bind', source: copy, destination: `/etc/${file}`, readonly: false, options: [] });
  };
  const existing = parsePasswd(passwdText).find((e) => e.uid === user.uid);
  if (!existing) add('passwd', passwdText, `${account.name}:*:${user.uid}:${user.gid}:${account.name}:${account.home}:/bin/sh`);
  if (!parseGroup(groupText).some((g) => g.gid === user.gid)) add('group', groupText, `${account.name}:x:${user.gid}:${account.name}`);
  return { mounts, home: existing?.home || account.home };
}
