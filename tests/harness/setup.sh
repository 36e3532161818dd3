# The harness's whole setup, sourced by tests/run.sh and tests/bench/run.sh (root only):
#   harness_setup     provision, reset the test user's tspod state, build (cached) and push the
#                     test images to two fresh registries on 127.0.0.1, configure the test user's
#                     registries.conf, write $TSPOD_TEST_VAR/env.json, export TSPOD_TEST_ENV.
#                     TSPOD_TEST_DEBIAN=1 also builds and pushes library/debian:bookworm.
#   harness_cleanup   stop the registries and everything the tests left running; silent and
#                     idempotent (installed as the EXIT trap by harness_setup).
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HARNESS_REGISTRY_PIDS=()
HARNESS_REGISTRY_DIRS=()
HARNESS_PIDFILE="$TSPOD_TEST_VAR/registry.pids"

# process_answers PID CMD...: PID is alive and CMD succeeds.
process_answers() { kill -0 "$1" 2>/dev/null && "${@:2}"; }

# start_registry NAME AUTH(0|1): starts docker-registry on a free port; sets REGISTRY_ADDR.
start_registry() {
	local name=$1 auth=$2 dir port pid attempt auth_yaml='' probe=(curl -fsS -o /dev/null)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tspod-test-registry-$name.XXXXXX")
	HARNESS_REGISTRY_DIRS+=("$dir")
	if [ "$auth" = 1 ]; then
		htpasswd -Bbn "$TSPOD_TEST_AUTH_USER" "$TSPOD_TEST_AUTH_PASSWORD" >"$dir/htpasswd" 2>/dev/null
		auth_yaml="auth:
  htpasswd:
    realm: tspod-test
    path: $dir/htpasswd"
		probe+=(-u "$TSPOD_TEST_AUTH_USER:$TSPOD_TEST_AUTH_PASSWORD")
	fi
	# Another process may take the port between free_port and the registry's bind: retry.
	for attempt in 1 2 3; do
		port=$(free_port)
		cat >"$dir/config.yml" <<-YAML
			version: 0.1
			log:
			  level: warn
			  accesslog:
			    disabled: true
			storage:
			  filesystem:
			    rootdirectory: $dir/data
			  delete:
			    enabled: true
			  maintenance:
			    uploadpurging:
			      enabled: false
			http:
			  addr: 127.0.0.1:$port
			  secret: tspod-test-$name
			$auth_yaml
		YAML
		docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >>"$HARNESS_PIDFILE"
		if wait_until 30 "registry $name on port $port" \
			process_answers "$pid" "${probe[@]}" "http://127.0.0.1:$port/v2/"; then
			if kill -0 "$pid" 2>/dev/null; then
				HARNESS_REGISTRY_PIDS+=("$pid")
				REGISTRY_ADDR="127.0.0.1:$port"
				REGISTRY_DATA="$dir/data"
				return 0
			fi
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		harness_log "registry $name did not start on port $port (attempt $attempt):"
		tail -n 5 "$dir/registry.log" >&2
	done
	return 1
}

# Registries left by a run that was killed before its trap ran.
kill_stale_registries() {
	local pid
	[ -f "$HARNESS_PIDFILE" ] || return 0
	while read -r pid; do
		if grep -q docker-registry "/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
		fi
	done <"$HARNESS_PIDFILE"
	rm -f "$HARNESS_PIDFILE"
}

# Root processes still running from the installed copy (root-mode tests): kill them by pid.
kill_install_leftovers() {
	local p pid exe
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = $$ ] && continue
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		if [[ "$exe" == "$TSPOD_TEST_OPT/"* ]] ||
			tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "$TSPOD_TEST_OPT/"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

write_registries_conf() {
	local uid gid home dir
	uid=$(test_user_uid)
	gid=$(test_user_gid)
	home=$(test_user_home)
	dir="$home/.config/containers"
	install -d -m 0755 -o "$uid" -g "$gid" "$home/.config" "$dir"
	cat >"$dir/registries.conf" <<-EOF2
		# Written by tspod's test harness (tests/harness/setup.sh) on every run.
		# Short names resolve through docker.io, which is mirrored by the local test registry.
		unqualified-search-registries = ["docker.io"]

		[[registry]]
		prefix = "docker.io"
		location = "docker.io"

		[[registry.mirror]]
		location = "$HARNESS_REGISTRY"
		insecure = true

		[[registry]]
		location = "$HARNESS_REGISTRY"
		insecure = true

		[[registry]]
		location = "$HARNESS_AUTH_REGISTRY"
		insecure = true
	EOF2
	chown "$uid:$gid" "$dir/registries.conf"
	chmod 0644 "$dir/registries.conf"
}

write_env_json() { # write_env_json IMAGES_JSON
	local uid gid home file="$TSPOD_TEST_VAR/env.json"
	uid=$(test_user_uid)
	gid=$(test_user_gid)
	home=$(test_user_home)
	read -r subuid_start subuid_count <<<"$(subid_range /etc/subuid)"
	read -r subgid_start subgid_count <<<"$(subid_range /etc/subgid)"
	jq -n --arg user "$TSPOD_TEST_USER" --argjson uid "$uid" --argjson gid "$gid" --arg home "$home" \
		--argjson subuid "[$subuid_start, $subuid_count]" --argjson subgid "[$subgid_start, $subgid_count]" \
		--arg bin "$TSPOD_TEST_OPT/bin/tspod" --arg install "$TSPOD_TEST_OPT/lib/tspod" \
		--arg node "$(launcher_node)" --arg path "$TSPOD_TEST_PATH" \
		--arg reg "$HARNESS_REGISTRY" --arg regdata "$HARNESS_REGISTRY_DATA" --arg authreg "$HARNESS_AUTH_REGISTRY" \
		--arg authuser "$TSPOD_TEST_AUTH_USER" --arg authpass "$TSPOD_TEST_AUTH_PASSWORD" \
		--arg repo "$REPO_DIR" --arg harness "$HARNESS_DIR" --argjson images "$1" '{
			user: $user, uid: $uid, gid: $gid, home: $home, runtimeDir: "/run/user/\($uid)",
			subuid: {start: $subuid[0], count: $subuid[1]}, subgid: {start: $subgid[0], count: $subgid[1]},
			bin: $bin, installDir: $install, node: $node, path: $path,
			registry: $reg, registryData: $regdata, authRegistry: $authreg, authUser: $authuser, authPassword: $authpass,
			registriesConf: "\($home)/.config/containers/registries.conf",
			repoDir: $repo, harnessDir: $harness,
			images: $images.images, authImages: $images.authImages}' >"$file.tmp"
	chmod 0644 "$file.tmp"
	mv "$file.tmp" "$file"
	export TSPOD_TEST_ENV="$file"
}

harness_cleanup() {
	local pid
	for pid in "${HARNESS_REGISTRY_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	HARNESS_REGISTRY_PIDS=()
	rm -f "$HARNESS_PIDFILE"
	if id -u "$TSPOD_TEST_USER" >/dev/null 2>&1; then
		bash "$HARNESS_DIR/reset-user-state.sh" --all-processes >/dev/null 2>&1 || true
	fi
	kill_install_leftovers
	bash "$HARNESS_DIR/journal.sh" stop >/dev/null 2>&1 || true
	if [ ${#HARNESS_REGISTRY_DIRS[@]} -gt 0 ]; then
		rm -rf "${HARNESS_REGISTRY_DIRS[@]}"
	fi
	HARNESS_REGISTRY_DIRS=()
}

harness_setup() {
	local base debian='' start
	start=$(harness_now_ms)
	[ "$(id -u)" = 0 ] || harness_die "the harness needs root"
	# Tests that make their own users or paths read these too.
	export TSPOD_TEST_USER TSPOD_TEST_OPT TSPOD_TEST_VAR
	install -d -m 0755 "$TSPOD_TEST_VAR"
	trap harness_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	kill_stale_registries
	harness_step "reset test user state" bash "$HARNESS_DIR/reset-user-state.sh" || return 1
	bash "$HARNESS_DIR/provision.sh" || return 1
	base=$(harness_step "images (base)" bash "$HARNESS_DIR/build-images.sh" base) || return 1
	if [ "${TSPOD_TEST_DEBIAN:-0}" = 1 ]; then
		debian=$(harness_step "images (debian)" bash "$HARNESS_DIR/build-images.sh" debian) || return 1
	fi
	harness_step "registry (plain)" start_registry plain 0 || return 1
	HARNESS_REGISTRY=$REGISTRY_ADDR
	HARNESS_REGISTRY_DATA=$REGISTRY_DATA
	harness_step "registry (auth)" start_registry auth 1 || return 1
	HARNESS_AUTH_REGISTRY=$REGISTRY_ADDR
	harness_step "push images" bash "$HARNESS_DIR/publish-images.sh" \
		"$HARNESS_REGISTRY" "$HARNESS_AUTH_REGISTRY" "$base" ${debian:+"$debian"} >"$TSPOD_TEST_VAR/images.json" || return 1
	write_registries_conf
	write_env_json "$(cat "$TSPOD_TEST_VAR/images.json")"
	harness_log "ready in $(($(harness_now_ms) - start)) ms: registry $HARNESS_REGISTRY, auth registry $HARNESS_AUTH_REGISTRY, env $TSPOD_TEST_ENV"
}
