#!/usr/bin/env bash
# `npm run bench` (root only): provisions like `npm test` (including the Debian image), makes
# sure Podman works for the test user on kernel overlay, then runs the bench as the test user.
#   npm run bench [-- OPERATION...]      BENCH_RUNS=N (default 15)
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

podman_user() { as_test_user podman --cgroup-manager=cgroupfs --events-backend=file --runtime=runc "$@"; }

# Podman's rootless default here is vfs (it does not probe native overlay); compare like with like.
ensure_podman_overlay() {
	local driver conf
	driver=$(podman_user info --format '{{.Store.GraphDriverName}}' 2>/dev/null) ||
		harness_die "podman info fails for $TSPOD_TEST_USER: $(podman_user info 2>&1 | tail -n 3)"
	[ "$driver" = overlay ] && return 0
	conf="$(test_user_home)/.config/containers/storage.conf"
	harness_log "podman uses $driver: writing $conf (driver = \"overlay\") and resetting Podman's storage"
	printf '[storage]\ndriver = "overlay"\n' >"$conf"
	chown "$(test_user_uid):$(test_user_gid)" "$conf"
	podman_user system reset -f >/dev/null 2>&1
	driver=$(podman_user info --format '{{.Store.GraphDriverName}}' 2>/dev/null)
	[ "$driver" = overlay ] || harness_die "podman still uses ${driver:-nothing} after writing $conf"
}
ensure_podman_overlay || { harness_cleanup; exit 1; }

as_test_user env BENCH_RUNS="${BENCH_RUNS:-15}" TSPOD_TEST_ENV="$TSPOD_TEST_ENV" \
	TSPOD_BENCH_NODE="$(launcher_node)" \
	node "$TSPOD_TEST_OPT/lib/tspod/dist/tests/bench/bench.js" "$@"
status=$?
harness_cleanup
trap - EXIT
exit "$status"
