// The operations `npm run bench` times, tspod against Podman. To add one, append an entry:
// the runner alternates the two sides (tspod, podman, tspod, ...) BENCH_RUNS times each, runs
// each side's setup (untimed) before every timed run, and compares the medians with the target.
// Commands run as the test user with its login environment; images resolve through the local
// registry mirror (short names like `busybox` work on both sides).

import { userInfo } from 'node:os';

export type Target =
  /** tspod's median at most `max` times Podman's. */
  | { kind: 'ratio'; max: number }
  /** tspod's median at most `ms` above the `node -e 0` baseline (start-up cost). */
  | { kind: 'overBaseline'; ms: number }
  /** tspod's median at most `ms`. */
  | { kind: 'absolute'; ms: number };

export interface Operation {
  name: string;
  /** Arguments after `tspod`. */
  tspod: string[];
  /** Arguments after `podman` (the runner adds the global flags in PODMAN_GLOBAL_FLAGS). */
  podman: string[];
  /** tspod and podman hold whole argvs (e.g. a shell timing two commands), taken as they are. */
  wholeArgv?: boolean;
  /** A command (full argv) run untimed before each timed run of that side, e.g. emptying the
   * image store. An argv starting with "podman" gets the global flags too. */
  setup?: { tspod?: string[]; podman?: string[] };
  target: Target;
}

/** No systemd here: Podman needs cgroupfs and file events; Debian's crun fails on this host's
 * hybrid cgroup layout, so Podman runs runc, as tspod does by default there. tspod's rootless
 * namespace hides the hybrid cgroup2 mount, so `--runtime crun` works for it: one operation
 * times that too. */
export const PODMAN_GLOBAL_FLAGS = ['--cgroup-manager=cgroupfs', '--events-backend=file', '--runtime=runc'];

export const operations: Operation[] = [
  { name: 'version', tspod: ['version'], podman: ['version'], target: { kind: 'overBaseline', ms: 15 } },
  { name: 'info', tspod: ['info'], podman: ['info'], target: { kind: 'ratio', max: 1 } },
];

// Pulls from the local registry into an emptied store (the reset is untimed). Issue target:
// tspod's median at most 0.7x Podman's.
const emptyStores = { tspod: ['tspod', 'system', 'reset', '-f'], podman: ['podman', 'system', 'reset', '-f'] };
operations.push(
  { name: 'pull debian:bookworm (one big layer)', tspod: ['pull', '-q', 'debian:bookworm'], podman: ['pull', '-q', 'debian:bookworm'], setup: emptyStores, target: { kind: 'ratio', max: 0.7 } },
  { name: 'pull multilayer (3 layers)', tspod: ['pull', '-q', 'multilayer'], podman: ['pull', '-q', 'multilayer'], setup: emptyStores, target: { kind: 'ratio', max: 0.7 } },
);

// `images` on a store holding busybox under 100 names (101 rows), prepared untimed and only
// when missing, so the timed run is the listing alone. Setup runs through sh, so Podman's
// global flags are spelled out.
const HUNDRED_NAMES = Array.from({ length: 100 }, (_, i) => `bench/img${i}`).join(' ');
function hundredNames(cli: string): string[] {
  return ['sh', '-c', `${cli} image exists localhost/bench/img99:latest || { ${cli} pull -q busybox >/dev/null && ${cli} tag busybox ${HUNDRED_NAMES}; }`];
}
// The words, "`images` with 100 images": 100 distinct images as well (one small file
// each, imported: its own ID, layer and config), made untimed when missing.
const DISTINCT_DIR = `/tmp/tspod-bench-distinct-${userInfo().username}`;
function hundredImages(cli: string): string[] {
  const make = `mkdir -p ${DISTINCT_DIR} && for i in $(seq 0 99); do echo $i > ${DISTINCT_DIR}/f && tar -C ${DISTINCT_DIR} -cf - f | ${cli} import -q - localhost/bench/distinct$i >/dev/null || exit 1; done`;
  return ['sh', '-c', `${cli} image exists localhost/bench/distinct99:latest || { ${make}; }`];
}
operations.push(
  {
    name: 'images (100 names)',
    tspod: ['images'],
    podman: ['images'],
    setup: { tspod: hundredNames('tspod'), podman: hundredNames(['podman', ...PODMAN_GLOBAL_FLAGS].join(' ')) },
    target: { kind: 'ratio', max: 1 },
  },
  {
    name: 'images (100 distinct images)',
    tspod: ['images'],
    podman: ['images'],
    setup: { tspod: hundredImages('tspod'), podman: hundredImages(['podman', ...PODMAN_GLOBAL_FLAGS].join(' ')) },
    target: { kind: 'ratio', max: 1 },
  },
);

// Containers (issue targets: run --rm at most 0.5x Podman's; ps -a with 200 containers at most
// 0.5x). The image is pulled, and the 200 containers created, untimed and only when missing.
function withBusybox(cli: string, extra = ''): string[] {
  return ['sh', '-c', `${cli} image exists busybox || ${cli} pull -q busybox >/dev/null; ${extra}`];
}
function twoHundredContainers(cli: string): string[] {
  return withBusybox(cli, `n=$(${cli} ps -aq | wc -l); while [ "$n" -lt 200 ]; do ${cli} create busybox true >/dev/null || exit 1; n=$((n + 1)); done`);
}
function runningSleeper(cli: string): string[] {
  return withBusybox(cli, `[ "$(${cli} inspect --format '{{.State.Status}}' bench-exec 2>/dev/null)" = running ] || { ${cli} rm -f bench-exec >/dev/null 2>&1; ${cli} run -d --name bench-exec busybox sleep 100000 >/dev/null; }`);
}
const podmanCli = ['podman', ...PODMAN_GLOBAL_FLAGS].join(' ');
operations.push(
  {
    name: 'run --rm busybox true',
    tspod: ['run', '--rm', 'busybox', 'true'],
    podman: ['run', '--rm', 'busybox', 'true'],
    setup: { tspod: withBusybox('tspod'), podman: withBusybox(podmanCli) },
    target: { kind: 'ratio', max: 0.5 },
  },
  {
    name: 'run --rm busybox true (tspod --runtime crun)',
    tspod: ['run', '--rm', '--runtime', 'crun', 'busybox', 'true'],
    podman: ['run', '--rm', 'busybox', 'true'],
    setup: { tspod: withBusybox('tspod'), podman: withBusybox(podmanCli) },
    target: { kind: 'ratio', max: 0.5 },
  },
  {
    name: 'ps -a (200 containers)',
    tspod: ['ps', '-a'],
    podman: ['ps', '-a'],
    setup: { tspod: twoHundredContainers('tspod'), podman: twoHundredContainers(podmanCli) },
    target: { kind: 'ratio', max: 0.5 },
  },
  {
    name: 'exec true',
    tspod: ['exec', 'bench-exec', 'true'],
    podman: ['exec', 'bench-exec', 'true'],
    setup: { tspod: runningSleeper('tspod'), podman: runningSleeper(podmanCli) },
    target: { kind: 'ratio', max: 1 },
  },
);

// `run -d` then `rm -f` of a container that ignores SIGTERM (issue #4): the stop must not wait
// out a grace period, since rm -f kills at once. One shell per side times both commands.
function runThenRemove(cli: string): string[] {
  return ['sh', '-c', `id=$(${cli} run -d busybox sh -c 'trap "" TERM; while :; do sleep 1; done') && ${cli} rm -f "$id" >/dev/null`];
}
operations.push({
  name: 'run -d + rm -f (ignores SIGTERM)',
  tspod: runThenRemove('tspod'),
  podman: runThenRemove(podmanCli),
  wholeArgv: true,
  setup: { tspod: withBusybox('tspod'), podman: withBusybox(podmanCli) },
  target: { kind: 'ratio', max: 1 },
});

// Networking (issue #5 targets: throughput through a published port at least Podman's with the
// same backend, i.e. time at most 1x; `run -d -p` start latency at most 0.6x). Both sides use
// slirp4netns with the rootlesskit-style port handler (tspod-portfwd vs Podman's rootlessport).
// A container serving a 100 MB file is started untimed, once; curl downloads it, timed.
const HTTP_PORTS = { tspod: 18731, podman: 18732 };
function bigFileServer(cli: string, port: number): string[] {
  const name = 'bench-http';
  const start = `${cli} run -d --name ${name} --network slirp4netns:port_handler=rootlesskit -p 127.0.0.1:${port}:80 busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=100 2>/dev/null; exec httpd -f -p 80 -h /' >/dev/null`;
  const ready = `i=0; until curl -sf -o /dev/null -r 0-0 http://127.0.0.1:${port}/big; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done`;
  return withBusybox(cli, `[ "$(${cli} inspect --format '{{.State.Status}}' ${name} 2>/dev/null)" = running ] || { ${cli} rm -f ${name} >/dev/null 2>&1; ${start}; }; ${ready}`);
}
const curlBig = (port: number): string[] => ['curl', '-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/big`];
const removeStarted = (cli: string): string[] => withBusybox(cli, `${cli} rm -f bench-port >/dev/null 2>&1; true`);
operations.push(
  {
    name: 'HTTP 100 MB through a published port (slirp4netns)',
    wholeArgv: true,
    tspod: curlBig(HTTP_PORTS.tspod),
    podman: curlBig(HTTP_PORTS.podman),
    setup: { tspod: bigFileServer('tspod', HTTP_PORTS.tspod), podman: bigFileServer(podmanCli, HTTP_PORTS.podman) },
    target: { kind: 'ratio', max: 1 },
  },
  {
    name: 'run -d -p (start latency)',
    tspod: ['run', '-d', '--name', 'bench-port', '-p', '127.0.0.1:18733:80', 'busybox', 'httpd', '-f', '-p', '80'],
    podman: ['run', '-d', '--name', 'bench-port', '--network', 'slirp4netns:port_handler=rootlesskit', '-p', '127.0.0.1:18734:80', 'busybox', 'httpd', '-f', '-p', '80'],
    setup: { tspod: removeStarted('tspod'), podman: removeStarted(podmanCli) },
    target: { kind: 'ratio', max: 0.6 },
  },
);

// Build (issue targets: a fully cached rebuild at most 0.5x Podman's; a cold build, the base
// image pulled, and --no-cache at most 0.8x). The same small project for both: a context of
// a few files and a Dockerfile with config steps, a COPY and two RUNs. Setup writes it (and,
// for the cached case, builds it once), untimed.
// Per user: several slots' test users may bench on one machine and /tmp is shared.
const BUILD_DIR = `/tmp/tspod-bench-build-${userInfo().username}`;
const BUILD_DOCKERFILE = [
  'FROM busybox',
  'ENV APP_HOME=/app MODE=bench',
  'WORKDIR /app',
  'COPY . /app/src/',
  'RUN cd src && for i in 1 2 3 4 5; do cat * > /dev/null; done && echo built > /app/built',
  'RUN mkdir -p /app/data && chown tester /app/data',
  'USER tester',
  'CMD ["cat", "/app/built"]',
].join('\\n');
const writeBuildContext = `mkdir -p ${BUILD_DIR} && cd ${BUILD_DIR} && printf '${BUILD_DOCKERFILE}\\n' > Dockerfile && for i in 1 2 3 4 5 6 7 8; do seq 1 2000 > file$i.txt; done`;
function buildSetup(extra: string): string[] {
  return ['sh', '-c', `${writeBuildContext} && ${extra}`];
}
operations.push(
  {
    name: 'build (cold: base image pulled)',
    tspod: ['build', '-q', '-t', 'bench-build', BUILD_DIR],
    podman: ['build', '-q', '-t', 'bench-build', BUILD_DIR],
    setup: { tspod: buildSetup('tspod system reset -f >/dev/null'), podman: buildSetup(`${podmanCli} system reset -f >/dev/null 2>&1`) },
    target: { kind: 'ratio', max: 0.8 },
  },
  {
    name: 'build (fully cached rebuild)',
    tspod: ['build', '-q', '-t', 'bench-build', BUILD_DIR],
    podman: ['build', '-q', '-t', 'bench-build', BUILD_DIR],
    setup: { tspod: buildSetup(`tspod build -q -t bench-build ${BUILD_DIR} >/dev/null`), podman: buildSetup(`${podmanCli} build -q -t bench-build ${BUILD_DIR} >/dev/null 2>&1`) },
    target: { kind: 'ratio', max: 0.5 },
  },
  {
    name: 'build --no-cache',
    tspod: ['build', '-q', '--no-cache', '-t', 'bench-build', BUILD_DIR],
    podman: ['build', '-q', '--no-cache', '-t', 'bench-build', BUILD_DIR],
    setup: { tspod: withBusybox('tspod', writeBuildContext), podman: withBusybox(podmanCli, writeBuildContext) },
    target: { kind: 'ratio', max: 0.8 },
  },
);
