#!/usr/bin/env bash
# `npm test`: build, run the unit tests, and, as root, provision the machine (tests/harness) and
# run the integration tests as the unprivileged test user. Ends with one line
# "N passed, N failed, N skipped": the totals of both runs.
#   TSPOD_TEST_DEBIAN=1        also build and push library/debian:bookworm (a few minutes, cached)
#   TSPOD_TEST_USER=name       the test user (default tspodtest)
#   TSPOD_TEST_TIMEOUT=secs    kill the integration run after this long (default 2700)
#   TSPOD_TEST_ONLY=pattern    pass --test-name-pattern to the integration run
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

LOGS=$(mktemp -d)
PASSED=0 FAILED=0 SKIPPED=0

# tally NAME LOG STATUS: adds a node --test run's summary ("ℹ pass N" ...) to the totals.
tally() {
	local name=$1 log=$2 status=$3 pass fail cancelled skipped todo
	count() { sed -n "s/^ℹ $1 \([0-9][0-9]*\)\$/\1/p" "$log" | tail -n1; }
	pass=$(count pass) fail=$(count fail) cancelled=$(count cancelled) skipped=$(count skipped) todo=$(count todo)
	fail=$((${fail:-0} + ${cancelled:-0}))
	if [ "$status" != 0 ] && [ "$fail" = 0 ]; then
		# The runner failed without counting a failed test (a crash, a timeout): count it as one.
		echo "$name: the test runner exited with status $status"
		fail=1
	fi
	PASSED=$((PASSED + ${pass:-0}))
	FAILED=$((FAILED + fail))
	SKIPPED=$((SKIPPED + ${skipped:-0} + ${todo:-0}))
}

totals() {
	rm -rf "$LOGS"
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
}

if ! npm run build; then
	echo "build failed: no tests run"
	echo "0 passed, 1 failed"
	exit 1
fi

unit_status=0
if [ -d dist/tests/unit ]; then
	node --test --test-reporter=spec dist/tests/unit/ 2>&1 | tee "$LOGS/unit"
	unit_status=${PIPESTATUS[0]}
	tally unit "$LOGS/unit" "$unit_status"
else
	echo "unit: no tests (dist/tests/unit does not exist)"
fi

if [ "$(id -u)" != 0 ]; then
	echo "integration: not run (needs root to provision a test user and a registry: sudo npm test)"
	totals
	exit "$unit_status"
fi

# shellcheck source=harness/setup.sh
. tests/harness/setup.sh
if ! harness_setup; then
	harness_cleanup
	echo "integration: harness setup failed"
	FAILED=$((FAILED + 1))
	totals
	exit 1
fi

integration_status=0
if [ -d dist/tests/integration ]; then
	only=()
	[ -n "${TSPOD_TEST_ONLY:-}" ] && only=(--test-name-pattern="$TSPOD_TEST_ONLY")
	# --foreground: Ctrl-C reaches the runner and its test processes directly.
	timeout --foreground --kill-after=30 "${TSPOD_TEST_TIMEOUT:-2700}" \
		node --test --test-concurrency=1 --test-reporter=spec "${only[@]}" dist/tests/integration/ 2>&1 |
		tee "$LOGS/integration"
	integration_status=${PIPESTATUS[0]}
	[ "$integration_status" = 124 ] && echo "integration: killed after ${TSPOD_TEST_TIMEOUT:-2700} s"
	tally integration "$LOGS/integration" "$integration_status"
else
	echo "integration: no tests (dist/tests/integration does not exist)"
fi

harness_cleanup
trap - EXIT
totals
[ "$unit_status" = 0 ] && [ "$integration_status" = 0 ]
