// The container start's start-up snapshot (dist/tspod-run.blob, see snapshot-setup.ts): the
// launcher runs `run`, `create` and `start` from it (RUN_COMMANDS in native/launcher.c). Its
// bundle holds only those commands' modules, and it initializes at build time only the modules a
// container start uses (native/build-snapshot.js's RUN_PRELOADED): every start deserializes the
// whole heap, and the daily blob's other commands and listing modules cost `run` a few ms each.
import { prepareSnapshot } from './snapshot-setup';
import { trainStartPath } from './snapshot-start-training';

prepareSnapshot(['run', 'create', 'start'], [['run', '--rm', '-e', 'A=B', '-v', '/a:/b', 'image', 'cmd']], trainStartPath);
