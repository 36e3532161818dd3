#!/usr/bin/env bash
# Pushes the built test images with skopeo (never with tspod) and prints, as JSON, what the
# registries now serve: {"images": {NAME:TAG: DESCRIPTION}, "authImages": {...}}, where
# DESCRIPTION = {ref, repository, tag, digest, mediaType, configDigest, diffIds, layers
# [, platforms: {"os/arch[/variant]": {digest, configDigest, diffIds, layers}}]}.
#   publish-images.sh REGISTRY AUTH_REGISTRY BASE_LAYOUT [DEBIAN_LAYOUT]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REGISTRY=$1 AUTH_REGISTRY=$2 BASE=$3 DEBIAN=${4:-}
CREDS="$TSPOD_TEST_AUTH_USER:$TSPOD_TEST_AUTH_PASSWORD"
ACCEPT="application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# registry_get REGISTRY CREDS|"" PATH: GET http://REGISTRY/v2/PATH accepting any manifest type.
registry_get() {
	local auth=()
	[ -n "$2" ] && auth=(-u "$2")
	curl -fsS "${auth[@]}" -H "Accept: $ACCEPT" "http://$1/v2/$3"
}

# describe_manifest REGISTRY CREDS REPOSITORY MANIFEST_JSON: {configDigest, diffIds, layers}
describe_manifest() {
	local config_digest
	config_digest=$(jq -r .config.digest <<<"$4")
	registry_get "$1" "$2" "$3/blobs/$config_digest" | jq -c --arg cd "$config_digest" --argjson m "$4" \
		'{configDigest: $cd, diffIds: .rootfs.diff_ids, layers: [$m.layers[].digest]}'
}

# push LAYOUT_TAG REGISTRY CREDS REPOSITORY TAG [SKOPEO_OPTIONS...]: prints the DESCRIPTION.
push() {
	local src=$1 reg=$2 creds=$3 repo=$4 tag=$5 auth=() manifest digest desc platforms='{}' m d p work
	shift 5
	work=$(mktemp -d "$TMP/push.XXXXXX")
	[ -n "$creds" ] && auth=(--dest-creds "$creds")
	skopeo copy -q --dest-tls-verify=false "${auth[@]}" --digestfile "$work/digest" "$@" \
		"oci:$src" "docker://$reg/$repo:$tag" >&2
	digest=$(cat "$work/digest")
	registry_get "$reg" "$creds" "$repo/manifests/$tag" >"$work/manifest"
	manifest=$(cat "$work/manifest")
	[ "sha256:$(sha256sum "$work/manifest" | cut -d' ' -f1)" = "$digest" ] ||
		harness_die "$reg/$repo:$tag: the registry serves a manifest that is not $digest"
	if jq -e '.manifests' <<<"$manifest" >/dev/null; then
		while IFS= read -r m; do
			d=$(jq -r .digest <<<"$m")
			p=$(jq -r '.platform | [.os, .architecture, .variant // empty] | join("/")' <<<"$m")
			desc=$(describe_manifest "$reg" "$creds" "$repo" "$(registry_get "$reg" "$creds" "$repo/manifests/$d")")
			platforms=$(jq -c --arg p "$p" --arg d "$d" --argjson desc "$desc" '. + {($p): ({digest: $d} + $desc)}' <<<"$platforms")
		done < <(jq -c '.manifests[]' <<<"$manifest")
		# The top level describes the host's platform, so tests of a plain pull can use it as is.
		desc=$(jq -c '.["linux/amd64"] | del(.digest)' <<<"$platforms")
	else
		desc=$(describe_manifest "$reg" "$creds" "$repo" "$manifest")
		platforms=null
	fi
	jq -cn --arg reg "$reg" --arg repo "$repo" --arg tag "$tag" --arg digest "$digest" \
		--arg mt "$(jq -r .mediaType <<<"$manifest")" --argjson desc "$desc" --argjson platforms "$platforms" '
		{ref: "\($reg)/\($repo):\($tag)", repository: $repo, tag: $tag, digest: $digest, mediaType: $mt}
		+ $desc + (if $platforms then {platforms: $platforms} else {} end)'
}

# The pushes run in parallel: JOBS[i] is "KIND NAME:TAG", its description lands in $TMP/out.i.
JOBS=() PIDS=()
start() { # start KIND NAME:TAG PUSH_ARGS...
	local i=${#JOBS[@]}
	JOBS+=("$1 $2")
	push "${@:3}" >"$TMP/out.$i" &
	PIDS+=($!)
}
start images busybox:latest "$BASE:busybox" "$REGISTRY" "" library/busybox latest --format v2s2
start images busybox:oci "$BASE:busybox" "$REGISTRY" "" library/busybox oci --format oci
start images multilayer:latest "$BASE:multilayer" "$REGISTRY" "" library/multilayer latest
start images multiarch:latest "$BASE:multiarch" "$REGISTRY" "" library/multiarch latest --all
if [ -n "$DEBIAN" ]; then
	start images debian:bookworm "$DEBIAN:debian" "$REGISTRY" "" library/debian bookworm --format v2s2
fi
start authImages busybox:latest "$BASE:busybox" "$AUTH_REGISTRY" "$CREDS" library/busybox latest --format v2s2

result='{"images": {}, "authImages": {}}'
for i in "${!JOBS[@]}"; do
	wait "${PIDS[$i]}" || harness_die "pushing ${JOBS[$i]} failed"
	read -r kind name <<<"${JOBS[$i]}"
	result=$(jq --arg kind "$kind" --arg name "$name" --slurpfile d "$TMP/out.$i" \
		'.[$kind][$name] = $d[0]' <<<"$result")
done
echo "$result"
