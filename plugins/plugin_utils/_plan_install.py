# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_install's comparison: what of the role's work already holds on the host, from the estate task's one command.

The install itself decides from the host probe (``_install_probe``: packages, a single-user install to convert);
this compares the rest with what the role wants: the settings of ``nix_install_settings`` in nix.conf (as
nix_conf would apply them to the file as it is) and whether root and the daemon users reach the daemon."""

from __future__ import annotations

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf as nix_conf


def state_reads(args):
    """What the state probe reads for nix_install."""
    return dict(lines=[args['nix_install_conf_path']],
                daemon_users=['root'] + list(args['nix_install_daemon_users']))


def settings_differ(args, state):
    """Whether nix_conf would change nix.conf for nix_install_settings (True when unsure: the module decides)."""
    settings = args['nix_install_settings']
    if not settings:
        return False
    lines = state['lines'].get(args['nix_install_conf_path'])
    if lines is None:
        return True
    text = ''.join(line + '\n' for line in lines)
    try:
        wanted, dummy = nix_conf.apply(nix_conf.parse(text), settings)
    except (nix_conf.NixConfError, TypeError, ValueError):
        return True
    return nix_conf.render(wanted) != text


def differs(args, state, nixos):
    """{settings, reach}: nix.conf's settings still to apply; root or a daemon user that does not reach the daemon."""
    if nixos or not state:
        return {'settings': True, 'reach': True}
    users = ['root'] + list(args['nix_install_daemon_users'])
    return {'settings': settings_differ(args, state),
            'reach': not all(state['daemon'].get(user) for user in users)}
