// tspod's entry point, exec'd by the C launcher (native/) once it has put this process in
// the user's namespace, when there is no start-up snapshot (dist/tspod.blob, see
// snapshot-entry.ts) to start from. Keeps start-up small: it loads only the command group typed.
import { runCli } from './cli';

runCli(process.argv.slice(2));
