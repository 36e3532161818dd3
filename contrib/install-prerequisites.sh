#!/usr/bin/env bash
# Installs what tspod needs from the host on Debian/Ubuntu and makes the devices rootless
# containers use accessible, as distributions normally ship them. Run as root.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "Error: run this as root (sudo $0)" >&2
  exit 125
fi
packages=(crun runc uidmap slirp4netns passt fuse-overlayfs iproute2 util-linux nodejs npm make gcc zlib1g-dev libseccomp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# A node that is already on PATH (nodesource, nvm) is as good as Debian's.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -ra missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# fuse-overlayfs and slirp4netns open these as the user.
[ -e /dev/net/tun ] || { mkdir -p /dev/net; mknod -m 0666 /dev/net/tun c 10 200; }
chmod 0666 /dev/fuse /dev/net/tun 2>/dev/null || true
# A user namespace needs subordinate ids; useradd assigns them to new users, older users may lack them.
user=${SUDO_USER:-}
if [ -n "$user" ] && [ "$user" != root ] && ! grep -q "^$user:" /etc/subuid; then
  start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' /etc/subuid /etc/subgid)
  usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$user"
  echo "added subordinate ids $start-$((start + 65535)) for $user"
fi
echo "tspod prerequisites installed"
