// The listing start-up snapshot's entry (dist/tspod-listing.blob, see snapshot-setup.ts), which
// the launcher runs for `images` and `version` (LISTING_COMMANDS in native/launcher.c). Its
// bundle holds only these commands' modules (native/build-snapshot.js leaves the others and the
// preloaded container modules out), a third of the full bundle: every start deserializes the
// whole heap, and `images` and `version` measured 8-12 ms (CPU) faster from it. `ps` and
// `inspect` were slower from a listing blob without the container modules, so they start from
// dist/tspod-daily.blob (DAILY_COMMANDS in native/launcher.c).
import { prepareSnapshot } from './snapshot-setup';

prepareSnapshot(['images', 'version'], [['images', '--no-trunc']]);
