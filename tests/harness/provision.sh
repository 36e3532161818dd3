#!/usr/bin/env bash
# Provisions this machine for tspod's integration tests (root only, idempotent, fast when done):
# host packages, the test user with subordinate id ranges and a runtime dir, device modes, and a
# copy of the built checkout in /opt/tspod-test that the test user can read.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ "$(id -u)" = 0 ] || harness_die "provision.sh must run as root"

PACKAGES=(runc crun uidmap slirp4netns passt fuse-overlayfs docker-registry busybox-static skopeo
	podman buildah debootstrap apache2-utils iproute2 curl jq util-linux procps libseccomp-dev systemd)

install_packages() {
	local missing=() pkg
	for pkg in "${PACKAGES[@]}"; do
		if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" != "ii " ]; then
			missing+=("$pkg")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	harness_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q "${missing[@]}" >/dev/null
	# `npm ci` built the native helpers before these packages were here: a helper that needs one
	# (tspod-seccomp-bpf needs libseccomp-dev) was left out, and make builds it now.
	(cd "$REPO_DIR" && npm run -s build:native)
}

# The next free start in /etc/subuid or /etc/subgid (above every range already handed out).
next_subid_start() {
	awk -F: 'BEGIN { max = 100000 } { end = $2 + $3; if (end > max) max = end } END { print max }' "$1"
}

ensure_subid_range() {
	local file=$1 flag=$2 range start
	range=$(subid_range "$file")
	if [ -n "$range" ] && [ "${range#* }" -ge 65536 ]; then
		return 0
	fi
	start=$(next_subid_start "$file")
	usermod "$flag" "$start-$((start + 65535))" "$TSPOD_TEST_USER"
}

create_user() {
	if ! id -u "$TSPOD_TEST_USER" >/dev/null 2>&1; then
		harness_log "creating user $TSPOD_TEST_USER"
		useradd -m -s /bin/bash "$TSPOD_TEST_USER"
	fi
	ensure_subid_range /etc/subuid --add-subuids
	ensure_subid_range /etc/subgid --add-subgids
	# The journald log driver's tests read the journal as the user, as its readers do
	# (tests/harness/journal.sh starts a journal when none runs).
	getent group systemd-journal >/dev/null || groupadd -r systemd-journal
	id -nG "$TSPOD_TEST_USER" | grep -qw systemd-journal || usermod -aG systemd-journal "$TSPOD_TEST_USER"
	local uid gid
	uid=$(test_user_uid)
	gid=$(test_user_gid)
	# No logind here to create the runtime dir.
	install -d -m 0755 /run/user
	install -d -m 0700 -o "$uid" -g "$gid" "/run/user/$uid"
}

# Distributions ship these 0666; rootless fuse-overlayfs and slirp4netns need that.
fix_devices() {
	if [ ! -c /dev/net/tun ]; then
		mkdir -p /dev/net
		mknod /dev/net/tun c 10 200
	fi
	chmod 0666 /dev/net/tun
	[ -c /dev/fuse ] && chmod 0666 /dev/fuse
	return 0
}

# Copies what the launcher needs at run time; a fresh copy each run so nothing stale is tested.
install_tspod() {
	local lib="$TSPOD_TEST_OPT/lib" new item
	[ -x "$REPO_DIR/native/build/tspod" ] || harness_die "native/build/tspod is missing: run npm run build"
	install -d -m 0755 "$TSPOD_TEST_OPT" "$TSPOD_TEST_OPT/bin" "$lib"
	new=$(mktemp -d "$lib/tspod.new.XXXXXX")
	for item in package.json dist node_modules contrib; do
		[ -e "$REPO_DIR/$item" ] && cp -a "$REPO_DIR/$item" "$new/"
	done
	mkdir -p "$new/native"
	cp -a "$REPO_DIR/native/build" "$new/native/"
	chmod -R a+rX "$new"
	chmod 0755 "$new"
	rm -rf "$lib/tspod"
	mv "$new" "$lib/tspod"
	ln -sfn "$lib/tspod/native/build/tspod" "$TSPOD_TEST_OPT/bin/tspod"

	# The launcher execs the node it was built with.
	local node_bin
	node_bin=$(launcher_node)
	as_test_user test -x "$node_bin" ||
		harness_die "$node_bin (the launcher's node) is not executable by $TSPOD_TEST_USER"
	as_test_user test -r "$lib/tspod/dist/cmd/tspod/main.js" ||
		harness_die "$TSPOD_TEST_USER cannot read the installed dist/"
}

harness_step "packages" install_packages
harness_step "test user" create_user
fix_devices
harness_step "install tspod to $TSPOD_TEST_OPT" install_tspod
