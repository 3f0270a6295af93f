# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What nix_install needs to know about a host, read with one shell command (no Python on the host).

The estate action runs ``command(...)`` on the host for role nix_install and returns ``parse(...)``
as its ``host`` result: a no-op re-run pays one SSH round trip for it instead of three module runs
(facts, a probe command and getent)."""

from __future__ import annotations

import shlex

from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import NIX_PATH

# One line per fact, each tagged, so the parse does not depend on their order or on a line missing.
_SCRIPT = r'''
[ -e /etc/NIXOS ] && echo "nixos yes"
[ -r /etc/os-release ] && . /etc/os-release && printf 'os %s|%s|%s\n' "${ID:-}" "${ID_LIKE:-}" "${PRETTY_NAME:-${NAME:-}}"
echo "state $(stat -c '%u %U %G' /nix/var/nix 2>/dev/null || echo absent)"
echo "version $(PATH="$1" LC_ALL=C nix --version 2>/dev/null | head -n 1)"
echo "daemon $(PATH="$1"; command -v nix-daemon 2>/dev/null)"
shift
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
  getent passwd "$1" >/dev/null || echo "missing-user $1"
  shift
done
[ "$#" -gt 0 ] && shift
if [ "$#" -gt 0 ] && command -v dpkg-query >/dev/null; then
  dpkg-query -W -f='package ${Package} ${db:Status-Status}\n' "$@" 2>/dev/null
fi
true
'''


def command(users=(), packages=()):
    """The shell command for the host: its output is parse()'s input."""
    argv = ['sh', '-c', _SCRIPT, 'sh', NIX_PATH] + list(users) + ['--'] + list(packages)
    return ' '.join(shlex.quote(arg) for arg in argv)


def os_family(os_id, id_like):
    """Ansible's family names for what the role tells apart: NixOS, Debian (Ubuntu and others like it)."""
    ids = [os_id] + id_like.split()
    if os_id == 'nixos':
        return 'NixOS'
    if 'debian' in ids or 'ubuntu' in ids:
        return 'Debian'
    return os_id or 'unknown'


def parse(text):
    """The host's facts for nix_install from command()'s output."""
    facts = dict(nixos=False, os_family='unknown', distribution='an unknown system', nix_owner='', nix_group='',
                 nix_absent=False, version='', daemon='', missing_users=[], installed_packages=[])
    for line in (text or '').splitlines():
        tag, dummy, rest = line.partition(' ')
        if tag == 'nixos':
            facts['nixos'] = True
        elif tag == 'os':
            os_id, id_like, name = (rest.split('|') + ['', ''])[:3]
            facts['os_family'] = os_family(os_id.strip(), id_like.strip())
            facts['distribution'] = name.strip() or os_id.strip() or facts['distribution']
        elif tag == 'state':
            state = rest.split()
            facts['nix_absent'] = state == ['absent']
            # Nix's state owned by someone other than root is a single-user install.
            if len(state) == 3 and state[0] != '0':
                facts['nix_owner'], facts['nix_group'] = state[1], state[2]
        elif tag == 'version':
            facts['version'] = rest.strip()
        elif tag == 'daemon':
            # Where nix-daemon is (nix-store beside it): the forced commands of the keys roles install.
            facts['daemon'] = rest.strip()
        elif tag == 'missing-user':
            facts['missing_users'].append(rest.strip())
        elif tag == 'package':
            name, dummy, status = rest.partition(' ')
            if status.strip() == 'installed':
                facts['installed_packages'].append(name)
    facts['nixos'] = facts['nixos'] or facts['os_family'] == 'NixOS'
    return facts
