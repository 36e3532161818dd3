#!/usr/bin/env bash
# Resets the test user's tspod state (root only). Kills the user's tspod processes: anything of
# the user (or of its subordinate uids) whose command line names tspod (the launcher and node,
# the pause process, monitors), every process inside a user namespace such a process holds
# (containers, fuse-overlayfs), and all their descendants (slirp4netns). Then unmounts what is
# left under the user's tspod directories and removes ~/.local/share/tspod and
# /run/user/UID/tspod, as root because files in there belong to subuids. The user's other
# processes and state (Podman's storage, ~/.config) are left alone.
#   reset-user-state.sh                  as above
#   reset-user-state.sh --all-processes  only kill every process of the user and its subuids
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ "$(id -u)" = 0 ] || harness_die "reset-user-state.sh must run as root"
id -u "$TSPOD_TEST_USER" >/dev/null 2>&1 || exit 0

uid=$(test_user_uid)
home=$(test_user_home)
read -r sub_start sub_count <<<"$(subid_range /etc/subuid)" || true
sub_start=${sub_start:-0}
sub_count=${sub_count:-0}
host_userns=$(readlink /proc/self/ns/user)

# One line per process of the user or its subuids: PID PPID USERNS NAMES_TSPOD(0|1).
user_processes() {
	local p pid ruid euid ppid state ns cmd tspod key a b
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = $$ ] && continue
		ruid='' euid='' ppid='' state=''
		while read -r key a b _; do
			case $key in
			State:) state=$a ;;
			Uid:) ruid=$a euid=$b ;;
			PPid:) ppid=$a ;;
			esac
		done 2>/dev/null <"$p/status" || continue
		# Zombies are dead already (and may wait long for a busy reaper).
		[ -n "$ruid" ] && [ "$state" != Z ] || continue
		if ! { [ "$ruid" = "$uid" ] || [ "$euid" = "$uid" ] ||
			{ [ "$ruid" -ge "$sub_start" ] && [ "$ruid" -lt $((sub_start + sub_count)) ]; } ||
			{ [ "$euid" -ge "$sub_start" ] && [ "$euid" -lt $((sub_start + sub_count)) ]; }; }; then
			continue
		fi
		ns=$(readlink "$p/ns/user" 2>/dev/null) || continue
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null; cat "$p/comm" 2>/dev/null) || true
		tspod=0
		[[ "$cmd" == *tspod* ]] && tspod=1
		echo "$pid $ppid $ns $tspod"
	done
}

# Pids to kill: tspod processes, processes in their user namespaces, and descendants of both.
tspod_pids() {
	user_processes | awk -v host="$host_userns" '
		{ pid[NR] = $1; ppid[$1] = $2; ns[$1] = $3; if ($4) { seed[$1] = 1; if ($3 != host) userns[$3] = 1 } }
		END {
			for (i = 1; i <= NR; i++) if (ns[pid[i]] in userns) seed[pid[i]] = 1
			do {
				grew = 0
				for (i = 1; i <= NR; i++) { p = pid[i]; if (!(p in seed) && (ppid[p] in seed)) { seed[p] = 1; grew = 1 } }
			} while (grew)
			for (p in seed) print p
		}'
}

all_pids() {
	user_processes | cut -d' ' -f1
}

kill_until_gone() { # kill_until_gone PID_LISTER
	local pids deadline
	deadline=$(($(harness_now_ms) + 10000))
	while pids=$("$1") && [ -n "$pids" ]; do
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null || true
		if (($(harness_now_ms) > deadline)); then
			harness_log "warning: processes of $TSPOD_TEST_USER survive SIGKILL: ${pids//$'\n'/ }"
			return 0
		fi
		sleep 0.02
	done
}

# Mount points under DIR, deepest first (mountinfo escapes spaces as \040).
mounts_under() {
	awk -v dir="$1" '{ p = $5; gsub(/\\040/, " ", p); if (p == dir || index(p, dir "/") == 1) print p }' \
		/proc/self/mountinfo | sort -r
}

remove_state_dir() {
	local dir=$1 mnt
	[ -e "$dir" ] || return 0
	while IFS= read -r mnt; do
		if [ -n "$mnt" ]; then umount -l "$mnt" 2>/dev/null || true; fi
	done <<<"$(mounts_under "$dir")"
	rm -rf --one-file-system "$dir"
}

# Podman (used beside tspod in some tests) keeps runtime state in $XDG_RUNTIME_DIR/libpod/tmp
# and, unlike tspod, refuses to run once its pause process is gone ("invalid internal status,
# try resetting the pause process with podman system migrate"). When that process is dead (a
# zombie counts: these hosts' pid 1 may never reap it) or was never recorded, drop that
# directory, which is what a reboot does: Podman then starts afresh.
forget_dead_podman_state() {
	local dir="/run/user/$uid/libpod/tmp" pid state
	[ -d "$dir" ] || return 0
	pid=$(cat "$dir/pause.pid" 2>/dev/null) || pid=''
	case $pid in '' | *[!0-9]*) rm -rf "$dir"; return 0 ;; esac
	state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || state=''
	if [ -z "$state" ] || [ "$state" = Z ]; then rm -rf "$dir"; fi
}

if [ "${1:-}" = --all-processes ]; then
	kill_until_gone all_pids
	forget_dead_podman_state
	exit 0
fi
kill_until_gone tspod_pids
forget_dead_podman_state
remove_state_dir "$home/.local/share/tspod"
remove_state_dir "/run/user/$uid/tspod"
