#!/usr/bin/env bash
# Build the execution environment (EE) of execution-environment.yml with ansible-builder and podman,
# then run `ansible-playbook nixkit.nix.site` inside it against fresh lab hosts. Not part of
# scripts/test.sh (it takes minutes); run it by hand, as root:
#   scripts/ee.sh                 build (base image cached) and run the site playbook in the EE
#   scripts/ee.sh --build-only    only build the EE image
#   scripts/ee.sh --rebuild-base  also rebuild the Debian base image
# Container registries are not needed: the base image is Debian trixie made here with debootstrap
# from the machine's own apt mirror (or $NIXKIT_LAB_MIRROR), as tests/lab/nixlab.py makes lab images.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build_only=false rebuild_base=false
for arg in "$@"; do
  case $arg in
    --build-only) build_only=true ;;
    --rebuild-base) rebuild_base=true ;;
    *) echo "ee.sh: unknown argument $arg (see the head of scripts/ee.sh)" >&2; exit 2 ;;
  esac
done

setup_out=$(bash scripts/setup.sh 2>&1) || { echo "$setup_out" >&2; exit 1; }
export PATH="$root/.venv/bin:$PATH"
# runc, cgroupfs and ulimits that work on this kind of machine (tests/lab/README.md).
export CONTAINERS_CONF="$root/tests/lab/containers.conf"

base=localhost/nixkit-ee-base:trixie
ee=localhost/nixkit-ee:latest
run="ee$(date +%s | tail -c 5)$$"
work=$(mktemp -d /var/tmp/nixkit-ee.XXXXXX)
cleanup() {
  python3 tests/lab/nixlab.py down --run "$run" >/dev/null 2>&1 || true
  # A rootfs may still have /proc mounted if debootstrap was interrupted.
  if [ -d "$work/rootfs" ]; then
    for mp in proc sys dev/pts dev; do umount -l "$work/rootfs/$mp" 2>/dev/null || true; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t0=$SECONDS
say() { echo "[ee $((SECONDS - t0))s] $*"; }

# The package manager ansible-builder calls ($PKGMGR install -y PKGS / clean all), on apt.
pkgmgr=$(cat <<'EOF'
#!/bin/sh
# ansible-builder's package manager interface on Debian: "install [-y] PKG..." and "clean all".
set -e
export DEBIAN_FRONTEND=noninteractive
case "$1" in
  install) shift; apt-get update -q; apt-get install -y -q --no-install-recommends $(printf '%s\n' "$@" | grep -v '^-') ;;
  clean) apt-get clean; rm -rf /var/lib/apt/lists/* ;;
  *) echo "ee-pkgmgr: unsupported: $*" >&2; exit 2 ;;
esac
EOF
)
include=python3,python3-pip,python3-venv,ca-certificates
# The image trusts what this machine trusts: the CAs of its bundle that Debian's lacks (a TLS-inspecting
# proxy's, for one) are added to the image, read at run time ($NIXKIT_EE_CA_BUNDLE for another bundle).
ca_bundle=${NIXKIT_EE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
recipe=$(cat <(printf '%s\n%s\n' "$include" "$pkgmgr") "$ca_bundle" | sha256sum | cut -c1-12)

if $rebuild_base || [ "$(podman image inspect -f '{{index .Labels "io.nixkit.ee.recipe"}}' "$base" 2>/dev/null)" != "$recipe" ]; then
  command -v debootstrap >/dev/null || { echo "ee.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  mirror=${NIXKIT_LAB_MIRROR:-$(python3 -c 'import sys; sys.path.insert(0, "tests/lab"); import nixlab; print(nixlab.default_mirror())')}
  say "debootstrap trixie for the base image $base"
  debootstrap --variant=minbase --include="$include" trixie "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  printf '%s\n' "$pkgmgr" >"$work/rootfs/usr/local/sbin/ee-pkgmgr"
  chmod 0755 "$work/rootfs/usr/local/sbin/ee-pkgmgr"
  python3 - "$ca_bundle" "$work/rootfs" <<'PY'
import re, sys
from pathlib import Path
pem = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
rootfs = Path(sys.argv[2])
have = set(pem.findall((rootfs / "etc/ssl/certs/ca-certificates.crt").read_text()))
extra = [c for c in pem.findall(Path(sys.argv[1]).read_text()) if c not in have]
for i, cert in enumerate(extra):
    (rootfs / f"usr/local/share/ca-certificates/nixkit-ee-host-{i}.crt").write_text(cert + "\n")
print(f"[ee] {len(extra)} CA certificate(s) of this machine's bundle added to the base image")
PY
  chroot "$work/rootfs" update-ca-certificates >"$work/ca.log" 2>&1 || { cat "$work/ca.log"; exit 1; }
  rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin "$work/rootfs/etc/resolv.conf" "$work/rootfs/etc/hostname"
  say "importing $base"
  old=$(podman image inspect -f '{{.Id}}' "$base" 2>/dev/null || true)
  tar --numeric-owner -C "$work/rootfs" -c . |
    podman import --change 'CMD ["/bin/bash"]' --change "LABEL io.nixkit.ee.recipe=$recipe" - "$base" >/dev/null
  rm -rf "$work/rootfs"
  [ -z "$old" ] || podman rmi "$old" >/dev/null 2>&1 || true
else
  say "base image $base is up to date"
fi

say "building the collection tarball"
rm -rf .build/ee && mkdir -p .build/ee
ansible-galaxy collection build --output-path "$work" . >/dev/null
mv "$work"/nixkit-nix-*.tar.gz .build/ee/nixkit-nix.tar.gz

say "ansible-builder build $ee"
old_ee=$(podman image inspect -f '{{.Id}}' "$ee" 2>/dev/null || true)
dangling_before=$(podman images -q --no-trunc --filter dangling=true | sort)
ansible-builder build -f execution-environment.yml --context .build/ee/context \
  --container-runtime podman -v 2 >"$work/builder.log" 2>&1 || { tail -40 "$work/builder.log"; exit 1; }
# The images of the galaxy and builder stages, and the EE this build replaced, are left untagged:
# remove those (the base stage's layers stay cached for the next build).
for id in $(comm -13 <(echo "$dangling_before") <(podman images -q --no-trunc --filter dangling=true | sort)) "$old_ee"; do
  [ -z "$id" ] || [ "$id" = "$(podman image inspect -f '{{.Id}}' "$ee")" ] || podman rmi "$id" >/dev/null 2>&1 || true
done
say "built $ee ($(podman image inspect -f '{{.Size}}' "$ee" | awk '{printf "%d MB", $1 / 1e6}'))"
podman run --rm "$ee" ansible-galaxy collection list nixkit.nix 2>/dev/null | grep nixkit.nix
$build_only && exit 0

say "starting lab hosts (run $run)"
python3 tests/lab/nixlab.py up --run "$run" --state-dir "$work/lab" \
  --host builder1:nix=nix_builders --host client1:nix=nix_clients >/dev/null
# The inventory names the key and known_hosts by their paths here: mount them at the same paths.
# The EE runs as root here because the lab key is root's (AWX would inject a machine credential).
say "ansible-playbook nixkit.nix.site inside $ee"
podman run --rm --network "nixkit-$run" --user 0 \
  -v "$work/lab:$work/lab:ro" -v "$root/tests/lab/lab-vars.yml:/runner/lab-vars.yml:ro" \
  -e ANSIBLE_FORCE_COLOR=0 -e ANSIBLE_HOST_KEY_CHECKING=True \
  "$ee" ansible-playbook -i "$work/lab/inventory.yml" -e @/runner/lab-vars.yml nixkit.nix.site
say "done: the site playbook ran inside the EE"
