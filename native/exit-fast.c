// A Node addon for the end of every command (cmd/tspod/exit-teardown.ts): the last few
// milliseconds of a process that has done its work, spent where nobody waits for them.
//
// detachTeardown(): an exiting process frees its address space before its parent learns of the
// exit: for Node with tspod's start-up snapshot, ~60 MB mapped, 2-4 ms. A task that shares the
// memory (clone with CLONE_VM, not a thread) keeps it alive past tspod's exit, then frees it
// when it ends itself, after the parent was notified. The helper holds nothing else: it closes
// its copies of every file descriptor (a pipe reader must see EOF when tspod ends, and a monitor
// its attach client leave) except a pipe whose other end only tspod holds, and it blocks every
// signal; when tspod is gone, the read of that pipe ends and so does the helper.
//
// exitNow(code, stdio): Node's own exit stops its worker threads, joins them and runs its
// destructors, 1-2 ms here, none of which matters to a command that is done (its output
// written, its 'exit' listeners run). What does matter, the O_NONBLOCK flag of fds 0-2 that
// Node may have set on descriptions shared with the caller, is put back from the launcher's
// record of them ("F0,F1,F2", native/launcher.c); then _exit. False, without exiting, when
// that record holds a terminal (whose modes Node's exit restores) or cannot be read.
#include <fcntl.h>
#include <node_api.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

// The helper's stack, in memory it shares with tspod. Only raw system calls run on it.
static char helper_stack[16384] __attribute__((aligned(64)));
static int helper_read_end = -1;
static int helper_write_end = -1;
static long helper_max_fd = 1024;

/* Closes FIRST..LAST: close_range (Linux 5.9), else one by one up to the process's limit. */
static void close_fds(long first, long last) {
	if (first > last || syscall(SYS_close_range, (unsigned int)first, (unsigned int)last, 0) == 0)
		return;
	for (long fd = first; fd <= last && fd < helper_max_fd; fd++)
		syscall(SYS_close, fd);
}

static int keep_memory_until_parent_ends(void *unused) {
	(void)unused;
	int fd = helper_read_end;
	// Its copy of the write end first: holding it, it would wait for itself.
	syscall(SYS_close, helper_write_end);
	close_fds(0, fd - 1);
	close_fds(fd + 1, ~0U);
	char byte;
	while (syscall(SYS_read, fd, &byte, 1) > 0) {
	}
	syscall(SYS_exit_group, 0);
	return 0;
}

static napi_value boolean(napi_env env, int value) {
	napi_value result;
	napi_get_boolean(env, value, &result);
	return result;
}

/** detachTeardown(): true when the helper runs; false leaves the teardown to the exit. */
static napi_value detach_teardown(napi_env env, napi_callback_info info) {
	(void)info;
	int ok = 0;
	int ends[2];
	if (pipe2(ends, O_CLOEXEC) == 0) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		helper_read_end = ends[0];
		helper_write_end = ends[1];
		long open_max = sysconf(_SC_OPEN_MAX);
		if (open_max > 0)
			helper_max_fd = open_max < 65536 ? open_max : 65536;
		// SIGCHLD: whoever adopts it when tspod ends reaps it as any child.
		ok = clone(keep_memory_until_parent_ends, helper_stack + sizeof helper_stack, CLONE_VM | SIGCHLD, NULL) > 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		close(ends[0]);
		// Kept open until the exit (close-on-exec: children tspod starts do not hold it).
		if (!ok)
			close(ends[1]);
	}
	return boolean(env, ok);
}

/* "F0,F1,F2" into flags (-1: the fd was closed); 0 when it holds a terminal or is malformed. */
static int parse_stdio(const char *text, int flags[3]) {
	const char *p = text;
	int fd;
	for (fd = 0; fd < 3; fd++) {
		char *end;
		if (*p == '-') {
			flags[fd] = -1;
			end = (char *)p + 1;
		} else {
			long value = strtol(p, &end, 10);
			if (end == p || value < 0)
				return 0;
			flags[fd] = (int)value;
		}
		if (*end != (fd == 2 ? '\0' : ','))
			return 0;
		p = end + 1;
	}
	return 1;
}

/** exitNow(code, stdio): does not return, unless with false (see the top). */
static napi_value exit_now(napi_env env, napi_callback_info info) {
	size_t argc = 2;
	napi_value argv[2];
	int32_t code;
	char text[64];
	size_t len;
	int flags[3];
	int fd;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &code) != napi_ok ||
	    napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len) != napi_ok || len + 1 >= sizeof text || !parse_stdio(text, flags))
		return boolean(env, 0);
	for (fd = 0; fd < 3; fd++) {
		int now = flags[fd] < 0 ? -1 : fcntl(fd, F_GETFL);
		if (now >= 0 && ((now ^ flags[fd]) & O_NONBLOCK))
			fcntl(fd, F_SETFL, (now & ~O_NONBLOCK) | (flags[fd] & O_NONBLOCK));
	}
	_exit(code);
}

NAPI_MODULE_INIT() {
	napi_value fn;
	napi_create_function(env, "detachTeardown", NAPI_AUTO_LENGTH, detach_teardown, NULL, &fn);
	napi_set_named_property(env, exports, "detachTeardown", fn);
	napi_create_function(env, "exitNow", NAPI_AUTO_LENGTH, exit_now, NULL, &fn);
	napi_set_named_property(env, exports, "exitNow", fn);
	return exports;
}
