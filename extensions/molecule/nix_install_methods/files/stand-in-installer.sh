#!/bin/sh
# Stands in for the upstream multi-user installer (which this network cannot download): it
# records its arguments and lays Nix out where the upstream one puts the daemon.
set -eu
echo "$*" > /root/installer-args
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nix-bin nix-setup-systemd >/dev/null
mkdir -p /nix/var/nix/profiles/default/bin
ln -sf /usr/bin/nix-daemon /nix/var/nix/profiles/default/bin/nix-daemon
