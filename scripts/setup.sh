#!/usr/bin/env bash
# Install what the lab, the demo and the tests need on a Debian/Ubuntu controller, as root:
# podman (with runc), debootstrap, and a Python venv in .venv with the tools of tests/requirements.txt.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(podman runc debootstrap uidmap iptables openssh-client git shellcheck)
# podman 4 (Debian 12) uses CNI networks: lab hosts find each other by name only with the dnsname
# plugin. podman 5 uses netavark and aardvark-dns instead; install whichever the distribution has.
apt_cache_ready() { apt-cache show podman >/dev/null 2>&1; }
apt_cache_ready || { echo "setup: reading the package lists"; apt-get update -qq; }
for dns_pkg in golang-github-containernetworking-plugin-dnsname aardvark-dns; do
  if apt-cache show "$dns_pkg" >/dev/null 2>&1; then apt_packages+=("$dns_pkg"); break; fi
done
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${NIXKIT_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python tools into .venv"
  # pip's notes about local find-links directories that do not exist are noise here.
  .venv/bin/pip install -q -r tests/requirements.txt 2>&1 | grep -v 'is ignored: it is neither' || true
  .venv/bin/python -c 'import ansible, molecule' # fail here, not later, if the install did
  echo "$want" > "$stamp"
fi

# Install this checkout as `nixkit.nix` where ansible.cfg looks (a built copy, not a link: tools
# that walk or reinstall collections must never reach back into the working tree).
# Built aside and swapped in, so a run that is using the previous copy sees it vanish for
# milliseconds, not for the seconds a build takes.
mkdir -p .build
fresh=$(mktemp -d .build/collections-new.XXXXXX)
ANSIBLE_COLLECTIONS_PATH="$fresh" .venv/bin/ansible-galaxy collection install --offline --force -p "$fresh" . >/dev/null
mkdir -p .build/collections/ansible_collections/nixkit
rm -rf .build/collections/ansible_collections/nixkit/nix
mv "$fresh/ansible_collections/nixkit/nix" .build/collections/ansible_collections/nixkit/nix
rm -rf "$fresh"
# Read the whole version text first: `| head -1` would close the pipe on ansible, which then fails.
version=$(.venv/bin/ansible --version)
echo "setup: ready (${version%%$'\n'*})"
