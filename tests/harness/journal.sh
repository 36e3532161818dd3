#!/usr/bin/env bash
# A systemd journal for the journald log driver's tests (root only). These machines boot no
# systemd, but systemd-journald runs on its own: it binds /run/systemd/journal/socket and keeps
# /run/log/journal/MACHINE-ID/system.journal, readable by the group systemd-journal (the test
# user is in it: provision.sh).
#   journal.sh start   starts one when none runs; prints "started" (ours) or "running" (not ours)
#                      (harness_cleanup stops ours too, should a test run end without its stop)
#   journal.sh stop    stops the one start started and removes its sockets, so that tests of
#                      "no journal here" see none again; a journal it did not start is left alone
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ "$(id -u)" = 0 ] || harness_die "journal.sh must run as root"
JOURNALD=/lib/systemd/systemd-journald
SOCKET_DIR=/run/systemd/journal
PIDFILE="$TSPOD_TEST_VAR/journald.pid"

ours_alive() { [ -s "$PIDFILE" ] && grep -q systemd-journald "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null; }

# Another journald (the host's, or another checkout's test run) is answering on the socket.
journal_running() {
	local p
	[ -S "$SOCKET_DIR/socket" ] || return 1
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = systemd-journal ] && return 0
	done
	return 1
}

start() {
	# Ours, left by a run that was killed before it stopped it: this run owns it now.
	if ours_alive; then
		echo started
		return 0
	fi
	if journal_running; then
		echo running
		return 0
	fi
	[ -x "$JOURNALD" ] || harness_die "$JOURNALD is missing: apt-get install systemd"
	getent group systemd-journal >/dev/null || groupadd -r systemd-journal
	install -d -m 0755 "$SOCKET_DIR"
	# What systemd-tmpfiles would make at boot: the journal's files get the group's read access.
	install -d -m 2755 -g systemd-journal /run/log /run/log/journal
	install -d -m 0755 "$TSPOD_TEST_VAR"
	setsid "$JOURNALD" </dev/null >"$TSPOD_TEST_VAR/journald.log" 2>&1 &
	echo $! >"$PIDFILE"
	wait_until 10 "systemd-journald's socket" test -S "$SOCKET_DIR/socket" ||
		{ cat "$TSPOD_TEST_VAR/journald.log" >&2; exit 1; }
	echo started
}

stop() {
	local pid
	ours_alive || { rm -f "$PIDFILE"; return 0; }
	pid=$(cat "$PIDFILE")
	kill "$pid"
	wait_until 10 "systemd-journald to stop" bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	rm -f "$PIDFILE" "$SOCKET_DIR/socket" "$SOCKET_DIR/stdout" "$SOCKET_DIR/dev-log" "$SOCKET_DIR/syslog" \
		"$SOCKET_DIR/io.systemd.journal"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) harness_die "usage: journal.sh start|stop" ;;
esac
