#!/usr/bin/env bash
# Builds the test images as an OCI layout, by hand, so every byte is known: rootfs in a staging
# dir, tar, gzip -n, sha256, blobs, config, manifest, index.json. Root runs it, so chown in the
# staging dir gives the layers real uids. Results are cached in $TSPOD_TEST_VAR/images keyed by
# a hash of this script and its inputs; the cached layout's path is printed on stdout.
#   build-images.sh base     busybox (tag busybox), multilayer (tag multilayer),
#                            multiarch (tag multiarch, an image index: linux/amd64 + linux/arm64)
#   build-images.sh debian   debian (tag debian): debootstrap --variant=minbase bookworm, one layer
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SET=${1:?usage: build-images.sh base|debian}
CREATED="2024-01-01T00:00:00Z"
# Every file of the hand-made layers gets this mtime, so their digests never change.
EPOCH=1704067200
IMAGE_PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_INDEX=application/vnd.oci.image.index.v1+json
MT_CONFIG=application/vnd.oci.image.config.v1+json
MT_LAYER=application/vnd.oci.image.layer.v1.tar+gzip

# --- where the Debian packages come from -------------------------------------------------------

# The first bookworm "deb" source of this machine's apt configuration (deb822 or one-line form).
apt_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk '
			/^[ \t]*$/ { if (deb && bookworm && uri != "") { print uri; exit } deb = bookworm = 0; uri = ""; next }
			/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") bookworm = 1 }
			/^URIs:/ { uri = $2 }
			END { if (deb && bookworm && uri != "") print uri }' "$f" | head -n1)
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(sed -nE 's/^deb[ \t]+(\[[^]]*\][ \t]+)?([^ \t]+)[ \t]+bookworm[ \t].*/\2/p' "$f" | head -n1)
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	harness_die "no bookworm source in /etc/apt: cannot debootstrap"
}

# --- cache -------------------------------------------------------------------------------------

cache_key() {
	{
		cat "${BASH_SOURCE[0]}"
		echo "$SET"
		dpkg-query -W -f='${Version}' busybox-static
		if [ "$SET" = debian ]; then apt_mirror; fi
	} | sha256sum | cut -c1-16
}

# --- layout writing ----------------------------------------------------------------------------

# blob_put FILE: moves FILE into the layout's blobs; sets BLOB_DIGEST and BLOB_SIZE.
blob_put() {
	local hex
	hex=$(sha256sum "$1" | cut -d' ' -f1)
	BLOB_DIGEST="sha256:$hex"
	BLOB_SIZE=$(stat -c %s "$1")
	mv "$1" "$LAYOUT/blobs/sha256/$hex"
}

# json_blob JSON: stores JSON (no trailing newline) as a blob; sets BLOB_DIGEST and BLOB_SIZE.
json_blob() {
	printf '%s' "$1" >"$WORK/json"
	blob_put "$WORK/json"
}

# layer_from ROOTFS [TAR_OPTIONS...]: tars and gzips ROOTFS into a blob; sets LAYER_DIFF_ID and
# LAYER_DESC (the manifest's descriptor JSON). With LAYER_ORDER set to a file listing every
# entry, entries go in that order instead of sorted by name.
layer_from() {
	local root=$1
	shift
	if [ -n "${LAYER_ORDER:-}" ]; then
		tar --numeric-owner --no-recursion "$@" -C "$root" -cf "$WORK/layer.tar" -T "$LAYER_ORDER"
	else
		tar --numeric-owner --sort=name "$@" -C "$root" -cf "$WORK/layer.tar" .
	fi
	LAYER_DIFF_ID="sha256:$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)"
	gzip -n -6 "$WORK/layer.tar"
	blob_put "$WORK/layer.tar.gz"
	LAYER_DESC=$(jq -cn --arg mt "$MT_LAYER" --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
		'{mediaType: $mt, digest: $d, size: $s}')
}

# image CONFIG_JSON LAYER_DESC...: writes config and manifest blobs; sets MANIFEST_DESC.
image() {
	local config=$1 layers
	shift
	json_blob "$config"
	layers=$(printf '%s\n' "$@" | jq -cs .)
	json_blob "$(jq -cn --arg mt "$MT_MANIFEST" --arg cmt "$MT_CONFIG" --arg cd "$BLOB_DIGEST" \
		--argjson cs "$BLOB_SIZE" --argjson layers "$layers" \
		'{schemaVersion: 2, mediaType: $mt, config: {mediaType: $cmt, digest: $cd, size: $cs}, layers: $layers}')"
	MANIFEST_DESC=$(jq -cn --arg mt "$MT_MANIFEST" --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
		'{mediaType: $mt, digest: $d, size: $s}')
}

# config_json ARCH CONFIG_OBJECT DIFF_IDS_ARRAY HISTORY_ARRAY [VARIANT]
config_json() {
	jq -cn --arg created "$CREATED" --arg arch "$1" --argjson config "$2" --argjson diff "$3" \
		--argjson history "$4" --arg variant "${5:-}" '
		{created: $created, architecture: $arch} + (if $variant != "" then {variant: $variant} else {} end)
		+ {os: "linux", config: $config, rootfs: {type: "layers", diff_ids: $diff}, history: $history}'
}

history_entry() {
	jq -cn --arg created "$CREATED" --arg by "$1" --arg empty "${2:-}" \
		'{created: $created, created_by: $by} + (if $empty != "" then {empty_layer: true} else {} end)'
}

# tag REF_NAME DESCRIPTOR: adds DESCRIPTOR to index.json under REF_NAME.
tag() {
	jq -c --arg ref "$1" --argjson desc "$2" \
		'.manifests += [$desc + {annotations: {"org.opencontainers.image.ref.name": $ref}}]' \
		"$LAYOUT/index.json" >"$WORK/index.json"
	mv "$WORK/index.json" "$LAYOUT/index.json"
}

# --- root filesystems --------------------------------------------------------------------------

write_file() { # write_file PATH MODE UID:GID CONTENT
	printf '%s' "$4" >"$1"
	chmod "$2" "$1"
	chown "$3" "$1"
}

busybox_rootfs() {
	local r=$1 applet
	install -d -m 0755 "$r" "$r/bin" "$r/etc" "$r/home" "$r/dev" "$r/proc" "$r/sys" "$r/usr" "$r/var"
	install -d -m 0700 "$r/root"
	install -d -m 1777 "$r/tmp"
	install -m 0755 /bin/busybox "$r/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$r/bin/$applet"
	done
	write_file "$r/etc/passwd" 0644 0:0 'root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:tester:/home/tester:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
'
	write_file "$r/etc/group" 0644 0:0 'root:x:0:
tester:x:1000:
extra:x:2000:tester
nobody:x:65534:
'
	install -d -m 0755 -o 1000 -g 1000 "$r/home/tester"
	write_file "$r/home/tester/hello.txt" 0644 1000:1000 'hello from tester
'
	write_file "$r/home/tester/private.txt" 0600 1000:1000 'only tester reads this
'
}

# /data: two files, a hard link and a symlink, and a directory the next layer makes opaque.
multilayer_add_rootfs() {
	local r=$1
	install -d -m 0755 "$r" "$r/data" "$r/data/opq" "$r/data/opq/sub"
	write_file "$r/data/a.txt" 0644 0:0 'a
'
	write_file "$r/data/b.txt" 0644 0:0 'b
'
	ln "$r/data/b.txt" "$r/data/b-link"
	ln -s a.txt "$r/data/link"
	write_file "$r/data/opq/old.txt" 0644 0:0 'old
'
	write_file "$r/data/opq/sub/deep.txt" 0644 0:0 'deep
'
}

# Deletes /data/b.txt (its hard link b-link stays) and makes /data/opq opaque.
multilayer_delete_rootfs() {
	local r=$1
	install -d -m 0755 "$r" "$r/data" "$r/data/opq"
	write_file "$r/data/.wh.b.txt" 0644 0:0 ''
	write_file "$r/data/opq/.wh..wh..opq" 0644 0:0 ''
	write_file "$r/data/opq/new.txt" 0644 0:0 'new
'
}

arch_rootfs() { # arch_rootfs DIR ARCH
	install -d -m 0755 "$1"
	write_file "$1/arch" 0644 0:0 "$2
"
}

# --- the sets ----------------------------------------------------------------------------------

build_base() {
	local fixed=(--mtime="@$EPOCH") busybox_layer busybox_diff add_layer add_diff del_layer del_diff cfg
	busybox_rootfs "$WORK/busybox"
	layer_from "$WORK/busybox" "${fixed[@]}"
	busybox_layer=$LAYER_DESC busybox_diff=$LAYER_DIFF_ID

	cfg=$(jq -cn --arg path "$IMAGE_PATH_ENV" \
		'{Env: [$path], Cmd: ["sh"], Labels: {"org.tspod.test": "busybox"}}')
	image "$(config_json amd64 "$cfg" "[\"$busybox_diff\"]" \
		"[$(history_entry "busybox-static $(dpkg-query -W -f='${Version}' busybox-static): /bin/busybox, applet links, passwd, group, /home/tester")]")" \
		"$busybox_layer"
	tag busybox "$MANIFEST_DESC"

	multilayer_add_rootfs "$WORK/add"
	# Sorted by name, b-link would come first and b.txt be the link entry; put b.txt first so the
	# tar holds "b-link: hard link to data/b.txt" and the next layer deletes the link's target.
	(cd "$WORK/add" && find . | LC_ALL=C sort | grep -vx ./data/b-link && echo ./data/b-link) >"$WORK/add.order"
	LAYER_ORDER="$WORK/add.order" layer_from "$WORK/add" "${fixed[@]}"
	add_layer=$LAYER_DESC add_diff=$LAYER_DIFF_ID
	multilayer_delete_rootfs "$WORK/delete"
	layer_from "$WORK/delete" "${fixed[@]}"
	del_layer=$LAYER_DESC del_diff=$LAYER_DIFF_ID
	cfg=$(jq -cn --arg path "$IMAGE_PATH_ENV" '{
		User: "tester",
		Env: [$path, "MULTILAYER=1"],
		Entrypoint: ["/bin/sh", "-c"],
		Cmd: ["echo multilayer $(id -u) $(pwd) $(cat a.txt)"],
		WorkingDir: "/data",
		ExposedPorts: {"8080/tcp": {}, "9090/udp": {}},
		Volumes: {"/vol": {}},
		Labels: {"org.tspod.test": "multilayer"}}')
	image "$(config_json amd64 "$cfg" "[\"$busybox_diff\",\"$add_diff\",\"$del_diff\"]" "[
		$(history_entry "busybox layer"),
		$(history_entry "add /data/a.txt /data/b.txt /data/b-link (hard link) /data/link -> a.txt /data/opq"),
		$(history_entry "delete /data/b.txt (whiteout), make /data/opq opaque, add /data/opq/new.txt"),
		$(history_entry "config: user tester, workdir /data, ports, volume, entrypoint, cmd" empty)]")" \
		"$busybox_layer" "$add_layer" "$del_layer"
	tag multilayer "$MANIFEST_DESC"

	local amd64 arm64 cfg_arch
	cfg_arch=$(jq -cn --arg path "$IMAGE_PATH_ENV" \
		'{Env: [$path], Cmd: ["cat", "/arch"], Labels: {"org.tspod.test": "multiarch"}}')
	arch_rootfs "$WORK/arch-amd64" amd64
	layer_from "$WORK/arch-amd64" "${fixed[@]}"
	image "$(config_json amd64 "$cfg_arch" "[\"$busybox_diff\",\"$LAYER_DIFF_ID\"]" \
		"[$(history_entry "busybox layer"), $(history_entry "/arch: amd64")]")" \
		"$busybox_layer" "$LAYER_DESC"
	amd64=$(jq -c '. + {platform: {architecture: "amd64", os: "linux"}}' <<<"$MANIFEST_DESC")
	arch_rootfs "$WORK/arch-arm64" arm64
	layer_from "$WORK/arch-arm64" "${fixed[@]}"
	image "$(config_json arm64 "$cfg_arch" "[\"$LAYER_DIFF_ID\"]" "[$(history_entry "/arch: arm64")]" v8)" \
		"$LAYER_DESC"
	arm64=$(jq -c '. + {platform: {architecture: "arm64", os: "linux", variant: "v8"}}' <<<"$MANIFEST_DESC")
	json_blob "$(jq -cn --arg mt "$MT_INDEX" --argjson a "$amd64" --argjson b "$arm64" \
		'{schemaVersion: 2, mediaType: $mt, manifests: [$a, $b]}')"
	tag multiarch "$(jq -cn --arg mt "$MT_INDEX" --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
		'{mediaType: $mt, digest: $d, size: $s}')"
}

build_debian() {
	local r="$WORK/debian" mirror mnt cfg
	mirror=$(apt_mirror)
	harness_log "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
	if ! debootstrap --variant=minbase bookworm "$r" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
		tail -n 30 "$WORK/debootstrap.log" >&2
		harness_die "debootstrap failed"
	fi
	# debootstrap unmounts what it mounted, but be sure nothing of the host ends up in the layer.
	for mnt in $(awk -v r="$r" 'index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$mnt"
	done
	# Device nodes cannot be created rootless; the runtime provides /dev anyway.
	find "$r/dev" -mindepth 1 -delete
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/*.log "$r/etc/resolv.conf"
	layer_from "$r"
	cfg=$(jq -cn --arg path "$IMAGE_PATH_ENV" '{Env: [$path], Cmd: ["bash"], Labels: {"org.tspod.test": "debian"}}')
	image "$(config_json amd64 "$cfg" "[\"$LAYER_DIFF_ID\"]" \
		"[$(history_entry "debootstrap --variant=minbase bookworm")]")" "$LAYER_DESC"
	tag debian "$MANIFEST_DESC"
}

# --- main --------------------------------------------------------------------------------------

case "$SET" in base | debian) ;; *) harness_die "unknown image set $SET" ;; esac
CACHE="$TSPOD_TEST_VAR/images"
mkdir -p "$CACHE"
DEST="$CACHE/$SET-$(cache_key)"
if [ -f "$DEST/index.json" ]; then
	echo "$DEST"
	exit 0
fi

WORK=$(mktemp -d "$CACHE/.build-$SET.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LAYOUT="$WORK/layout"
mkdir -p "$LAYOUT/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
printf '{"schemaVersion":2,"manifests":[]}' >"$LAYOUT/index.json"
"build_$SET"
chmod -R a+rX "$LAYOUT"
# Older builds of this set are stale now.
rm -rf "$CACHE/$SET"-*
mv "$LAYOUT" "$DEST"
echo "$DEST"
