# Podman's side of the bench, shared by tests/bench/run.sh and `tests/dev.sh bench` (sourced,
# never run; needs tests/harness/common.sh sourced first).

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

# run_bench ENV_FILE [OPERATION...]: the bench runner as the test user (BENCH_RUNS, default 15).
run_bench() {
	local env_file=$1
	shift
	as_test_user env BENCH_RUNS="${BENCH_RUNS:-15}" TSPOD_TEST_ENV="$env_file" \
		TSPOD_BENCH_NODE="$(launcher_node)" \
		node "$TSPOD_TEST_OPT/lib/tspod/dist/tests/bench/bench.js" "$@"
}
