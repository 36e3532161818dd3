// The full start-up snapshot's entry (dist/tspod.blob, see snapshot-setup.ts): every command
// starts from it but those the listing snapshot serves (snapshot-listing-entry.ts).
import { prepareSnapshot } from './snapshot-setup';
import { trainStartPath } from './snapshot-start-training';

// Initialized at build time. Every start deserializes what they add to the heap (all ~60 groups:
// +170 KB of blob, ~0.7 ms for every command), while a group left out initializes its modules
// from the bundle when typed, which measured no slower (`volume ls`).
// `container` because every container's exit runs `tspod container cleanup` (its whole group).
const DAILY_GROUPS = ['run', 'create', 'exec', 'ps', 'logs', 'inspect', 'start', 'stop', 'rm', 'images', 'pull', 'version', 'rmi', 'tag', 'container'];

prepareSnapshot(DAILY_GROUPS, [
  ['ps', '-a', '--format', '{{.Names}}'],
  ['images', '--no-trunc'],
  ['run', '--rm', '-e', 'A=B', '-v', '/a:/b', 'image', 'cmd'],
], trainStartPath);
