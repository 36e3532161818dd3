#!/usr/bin/env bash
# `npm run bench` (root only): provisions like `npm test` (including the Debian image), makes
# sure Podman works for the test user on kernel overlay, then runs the bench as the test user.
#   npm run bench [-- WORD...]   operations whose name contains a word (all without); BENCH_RUNS=N (default 15)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root to provision the test user and the registries (sudo npm run bench)" >&2
	exit 1
fi
npm run build || { echo "bench: build failed" >&2; exit 1; }

# shellcheck source=../harness/setup.sh
. tests/harness/setup.sh
TSPOD_TEST_DEBIAN=1 harness_setup || { harness_cleanup; exit 1; }

# shellcheck source=podman-setup.sh
. tests/bench/podman-setup.sh
ensure_podman_overlay || { harness_cleanup; exit 1; }

run_bench "$TSPOD_TEST_ENV" "$@"
status=$?
harness_cleanup
trap - EXIT
exit "$status"
