# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_install's one-command look at a host: the shell script really runs here, the parse decides."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.nixkit.nix.plugins.plugin_utils import _install_probe as probe

DEBIAN_WITH_NIX = '''os debian||Debian GNU/Linux 13 (trixie)
state 0 root root
version nix (Nix) 2.26.3
package python3-apt installed
package nix-bin installed
package nix-setup-systemd not-installed
'''


def test_a_debian_host_with_nix():
    facts = probe.parse(DEBIAN_WITH_NIX)
    assert facts['os_family'] == 'Debian' and facts['distribution'] == 'Debian GNU/Linux 13 (trixie)'
    assert not facts['nixos'] and not facts['nix_absent'] and facts['nix_owner'] == ''
    assert facts['version'] == 'nix (Nix) 2.26.3'
    assert facts['installed_packages'] == ['python3-apt', 'nix-bin']
    assert facts['missing_users'] == []


@pytest.mark.parametrize('text, family, nixos', [
    ('nixos yes\nos nixos||NixOS 25.11 (Xantusia)\n', 'NixOS', True),
    ('os nixos||NixOS\n', 'NixOS', True),  # no marker file, but os-release says NixOS
    ('os ubuntu|debian|Ubuntu 24.04 LTS\n', 'Debian', False),
    ('os linuxmint|ubuntu debian|Linux Mint 22\n', 'Debian', False),
    ('os fedora||Fedora Linux 41\n', 'fedora', False),
    ('', 'unknown', False),
])
def test_os_family_and_nixos(text, family, nixos):
    facts = probe.parse(text)
    assert (facts['os_family'], facts['nixos']) == (family, nixos)


def test_a_single_user_install_and_a_missing_store():
    assert probe.parse('state 1000 alice users\n')['nix_owner'] == 'alice'
    assert probe.parse('state 1000 alice users\n')['nix_group'] == 'users'
    absent = probe.parse('state absent\nversion \n')
    assert absent['nix_absent'] and absent['nix_owner'] == '' and absent['version'] == ''


def test_the_command_runs_in_a_real_shell():
    out = subprocess.run(['sh', '-c', probe.command(['root', 'nixkit-no-such-user'], ['nixkit-no-such-package'])],
                         capture_output=True, text=True, check=True).stdout
    facts = probe.parse(out)
    assert facts['missing_users'] == ['nixkit-no-such-user']
    assert facts['installed_packages'] == []
    assert facts['distribution'] != 'an unknown system'  # this machine has /etc/os-release
    assert 'version ' in out and 'state ' in out


def test_names_reach_the_host_as_single_words():
    out = subprocess.run(['sh', '-c', probe.command(['$(echo pwned)', 'a;echo b'], ['x y'])],
                         capture_output=True, text=True, check=True).stdout
    assert probe.parse(out)['missing_users'] == ['$(echo pwned)', 'a;echo b']
    assert 'pwned' not in out.replace('missing-user $(echo pwned)', '')
