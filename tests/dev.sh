#!/usr/bin/env bash
# A developer's loop over the integration harness, without re-provisioning for every test (root
# only). Several checkouts can use it at once on one machine: TSPOD_DEV_SLOT=N gives each its own
# test user (tspodtN), state dir (/var/tmp/tspod-tN) and install dir (/opt/tspod-tN).
#   tests/dev.sh up                 provision, start the registries, keep them running in the
#                                   background (log: $TSPOD_TEST_VAR/dev.log); prints the env file
#   tests/dev.sh test FILE... [-- NODE_TEST_ARGS...]
#                                   build, install this checkout, run these integration files
#                                   (names like image-pull or dist/tests/integration/x.test.js)
#   tests/dev.sh install            build and install this checkout for the test user
#   tests/dev.sh as CMD...          run CMD as the test user (e.g. tests/dev.sh as tspod ps -a)
#   tests/dev.sh bench [WORD...]
#                                   build, install, run the benchmarks whose name contains a WORD (all
#                                   without names) against Podman; BENCH_RUNS=N (default 15)
#   tests/dev.sh reset              wipe the test user's tspod state
#   tests/dev.sh down               stop the registries and the test user's processes
set -euo pipefail
if [ -n "${TSPOD_DEV_SLOT:-}" ]; then
	export TSPOD_TEST_USER=${TSPOD_TEST_USER:-tspodt$TSPOD_DEV_SLOT}
	export TSPOD_TEST_VAR=${TSPOD_TEST_VAR:-/var/tmp/tspod-t$TSPOD_DEV_SLOT}
	export TSPOD_TEST_OPT=${TSPOD_TEST_OPT:-/opt/tspod-t$TSPOD_DEV_SLOT}
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=harness/common.sh
. tests/harness/common.sh
[ "$(id -u)" = 0 ] || harness_die "tests/dev.sh needs root (it provisions a test user)"
ENV_FILE="$TSPOD_TEST_VAR/env.json"
KEEPER_PID="$TSPOD_TEST_VAR/dev-keeper.pid"

keeper_alive() { [ -s "$KEEPER_PID" ] && kill -0 "$(cat "$KEEPER_PID")" 2>/dev/null; }

up() {
	if keeper_alive; then
		echo "$ENV_FILE"
		return 0
	fi
	install -d -m 0755 "$TSPOD_TEST_VAR"
	rm -f "$ENV_FILE"
	# The keeper holds the registries (they die with harness_cleanup when it is killed).
	setsid bash -c '. tests/harness/setup.sh && harness_setup && echo READY && exec sleep infinity' \
		>"$TSPOD_TEST_VAR/dev.log" 2>&1 </dev/null &
	echo $! >"$KEEPER_PID"
	wait_until 600 "the harness (see $TSPOD_TEST_VAR/dev.log)" grep -q '^READY' "$TSPOD_TEST_VAR/dev.log" ||
		{ tail -n 20 "$TSPOD_TEST_VAR/dev.log" >&2; exit 1; }
	echo "$ENV_FILE"
}

install_build() {
	npm run -s build >/dev/null
	keeper_alive || up >/dev/null
	local lib="$TSPOD_TEST_OPT/lib/tspod"
	rm -rf "$lib/dist" "$lib/contrib"
	cp -a dist "$lib/dist"
	[ -d contrib ] && cp -a contrib "$lib/contrib"
	# Replace rather than overwrite: running pause processes and monitors keep the old binaries busy.
	local f
	for f in native/build/*; do
		cp -a "$f" "$lib/native/build/.new" && mv -f "$lib/native/build/.new" "$lib/native/build/${f##*/}"
	done
	chmod -R a+rX "$lib"
}

run_tests() {
	local files=() arg
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		arg=$1
		shift
		case $arg in
		*.js) files+=("$arg") ;;
		*) files+=("dist/tests/integration/${arg%.test.ts}.test.js") ;;
		esac
	done
	[ "${1:-}" = -- ] && shift
	install_build
	TSPOD_TEST_ENV=$ENV_FILE node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
}

down() {
	if keeper_alive; then
		kill -- -"$(cat "$KEEPER_PID")" 2>/dev/null || true
	fi
	rm -f "$KEEPER_PID"
	bash tests/harness/reset-user-state.sh --all-processes >/dev/null 2>&1 || true
}

case ${1:-} in
up) up ;;
install) install_build ;;
test) shift; run_tests "$@" ;;
as) shift; keeper_alive || up >/dev/null; as_test_user "$@" ;;
bench)
	shift
	# The pull benchmark needs the Debian image, which only TSPOD_TEST_DEBIAN=1 builds and pushes.
	if keeper_alive && ! grep -q '"debian:bookworm"' "$ENV_FILE"; then down; fi
	export TSPOD_TEST_DEBIAN=1
	install_build
	# shellcheck source=bench/podman-setup.sh
	. tests/bench/podman-setup.sh
	ensure_podman_overlay
	run_bench "$ENV_FILE" "$@"
	;;
reset) bash tests/harness/reset-user-state.sh ;;
down) down ;;
*) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
