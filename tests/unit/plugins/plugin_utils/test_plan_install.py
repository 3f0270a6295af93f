# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_install's comparison (plugin_utils/_plan_install.py): nix.conf's settings as nix_conf would apply them, and
whether root and the daemon users reach the daemon."""

from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_install as plan_install

ARGS = {'nix_install_conf_path': '/etc/nix/nix.conf', 'nix_install_daemon_users': ['alice'],
        'nix_install_settings': {'substituters': [], 'experimental-features': ['nix-command']}}


def state(lines, reach=('root', 'alice')):
    return {'lines': {'/etc/nix/nix.conf': lines} if lines is not None else {},
            'daemon': dict((user, True) for user in reach)}


def test_settings_already_in_nix_conf_with_other_lines_around_them():
    lines = ['# Debian', 'build-users-group = nixbld', 'substituters =', 'experimental-features = nix-command',
             '!include /etc/nix/nixkit.d/client.conf']
    assert plan_install.differs(ARGS, state(lines), False) == {'settings': False, 'reach': False}


def test_a_setting_missing_or_different_or_no_file_is_a_difference():
    assert plan_install.differs(ARGS, state(['substituters ='], ), False)['settings']
    assert plan_install.differs(ARGS, state(['substituters = https://cache.nixos.org',
                                             'experimental-features = nix-command']), False)['settings']
    assert plan_install.differs(ARGS, state(None), False)['settings']
    # A line Nix refuses: nix_conf says so itself.
    assert plan_install.differs(ARGS, state(['this is not nix.conf']), False)['settings']
    assert not plan_install.differs(dict(ARGS, nix_install_settings={}), state(None), False)['settings']


def test_a_user_that_does_not_reach_the_daemon_runs_the_check():
    assert plan_install.differs(ARGS, state(['substituters =', 'experimental-features = nix-command'], reach=['root']),
                                False)['reach']
    assert plan_install.differs(ARGS, state([]), True) == {'settings': True, 'reach': True}
    assert plan_install.differs(ARGS, None, False) == {'settings': True, 'reach': True}
    assert plan_install.state_reads(ARGS) == {'lines': ['/etc/nix/nix.conf'], 'daemon_users': ['root', 'alice']}
