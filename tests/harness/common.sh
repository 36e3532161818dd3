# Shared settings and small helpers for the test harness scripts (sourced, never run).
# Everything here is root-side plumbing; the TypeScript side reads only env.json.

TSPOD_TEST_USER=${TSPOD_TEST_USER:-tspodtest}
# Where built image layouts are cached and env.json is written; survives reboots on purpose.
TSPOD_TEST_VAR=${TSPOD_TEST_VAR:-/var/tmp/tspod-test}
# Where the checkout is installed for the test user (the checkout itself may be under /root).
TSPOD_TEST_OPT=${TSPOD_TEST_OPT:-/opt/tspod-test}
TSPOD_TEST_PATH="$TSPOD_TEST_OPT/bin:/usr/local/bin:/usr/bin:/bin"
TSPOD_TEST_AUTH_USER=tspod
TSPOD_TEST_AUTH_PASSWORD=tspod-pass

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$HARNESS_DIR/../.." && pwd)

harness_log() { printf 'harness: %s\n' "$*" >&2; }
harness_die() { printf 'harness: error: %s\n' "$*" >&2; exit 1; }

# Milliseconds since the epoch, for step timings.
harness_now_ms() { date +%s%3N; }

# harness_step NAME CMD...: runs CMD and logs how long it took.
harness_step() {
	local name=$1 start rc
	shift
	start=$(harness_now_ms)
	"$@"
	rc=$?
	harness_log "$name: $(($(harness_now_ms) - start)) ms"
	return $rc
}

# The node the launcher execs: native/Makefile records it in native/build/node-path.
launcher_node() {
	if [ -s "$REPO_DIR/native/build/node-path" ]; then
		head -n1 "$REPO_DIR/native/build/node-path"
	else
		command -v node
	fi
}

test_user_uid() { id -u "$TSPOD_TEST_USER"; }
test_user_gid() { id -g "$TSPOD_TEST_USER"; }
test_user_home() { getent passwd "$TSPOD_TEST_USER" | cut -d: -f6; }

# as_test_user CMD...: runs CMD as the test user with the clean environment a login would give.
as_test_user() {
	local uid gid home
	uid=$(test_user_uid)
	gid=$(test_user_gid)
	home=$(test_user_home)
	(cd "$home" && setpriv --reuid="$uid" --regid="$gid" --init-groups \
		env -i HOME="$home" USER="$TSPOD_TEST_USER" LOGNAME="$TSPOD_TEST_USER" \
		XDG_RUNTIME_DIR="/run/user/$uid" PATH="$TSPOD_TEST_PATH" "$@")
}

# subid_range FILE: prints "START COUNT" of the test user's first range in /etc/subuid or /etc/subgid.
subid_range() {
	awk -F: -v name="$TSPOD_TEST_USER" -v id="$(test_user_uid)" \
		'($1 == name || $1 == id) { print $2, $3; exit }' "$1"
}

# A free TCP port on 127.0.0.1 (the kernel picks it; a tiny race with other binders is
# handled by the caller retrying when the server fails to start).
free_port() {
	node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# wait_until DEADLINE_SECONDS WHAT CMD...: polls CMD every 50 ms until it succeeds.
wait_until() {
	local seconds=$1 what=$2 deadline
	shift 2
	deadline=$(($(harness_now_ms) + seconds * 1000))
	until "$@" >/dev/null 2>&1; do
		if (($(harness_now_ms) > deadline)); then
			printf 'harness: timed out after %ss waiting for %s\n' "$seconds" "$what" >&2
			return 1
		fi
		sleep 0.05
	done
}
