# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one way modules run Nix commands on a host: found where Nix installs them, with the
`nix-command` feature on, optionally as another local user."""

import os
import pwd
import re
import time

# Private module_utils: no public API promise.

# NixOS, the upstream installer's default profile, distribution packages.
NIX_BIN_DIRS = ('/run/current-system/sw/bin', '/nix/var/nix/profiles/default/bin',
                '/usr/local/bin', '/usr/bin', '/bin')
# The PATH of every shell command the collection runs on a host (raw commands, shell actions, role tasks
# through the estate action's ``nix_path``): Nix's tools first, then the system's, sbin too (root's tools).
# The only place it is spelled.
NIX_PATH = ':'.join(NIX_BIN_DIRS[:2] + ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'))


def find_nix_tool(module, name='nix'):
    """Absolute path of a Nix tool (nix, nix-store, nix-build...); fails the module if Nix is missing."""
    for directory in NIX_BIN_DIRS:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    module.fail_json(msg='%s was not found on this host (looked in %s); install Nix first, for example with '
                         'the nixkit.nix.nix_install role' % (name, ', '.join(NIX_BIN_DIRS)))


def as_user(argv, user, runuser='runuser'):
    """Prefix argv so it runs as `user` (None or the current user: unchanged)."""
    if not user or user == pwd.getpwuid(os.getuid()).pw_name:
        return argv
    return [runuser, '-u', user, '--'] + argv


# Root opens the store's SQLite database itself. Several root processes opening it at once (parallel
# deploys evaluating on one build host) can fail at once with this error, before they did anything; a
# warning with the same words is Nix retrying on its own.
_SQLITE_BUSY = re.compile(r"^error: SQLite database '[^']*' is busy", re.MULTILINE)
BUSY_RETRIES = (1, 2, 4)


def busy_failure(rc, stderr):
    """True when a Nix command failed only because the store's database was busy (safe to run again)."""
    return rc != 0 and bool(_SQLITE_BUSY.search(stderr or ''))


def run_nix(module, args, user=None, tool='nix', environ_update=None, data=None):
    """Run a Nix tool; returns (rc, stdout, stderr). `nix` gets `nix-command` enabled. Run again,
    after 1, 2 and 4 s, when it failed only because the store's database was busy."""
    argv = [find_nix_tool(module, tool)]
    if tool == 'nix':
        argv += ['--extra-experimental-features', 'nix-command']
    env = {'PATH': os.pathsep.join(NIX_BIN_DIRS)}
    env.update(environ_update or {})
    # runuser lives in /usr/sbin, which is not on the PATH the command is looked up in.
    runuser = module.get_bin_path('runuser') or 'runuser'
    argv = as_user(argv + list(args), user, runuser)
    for delay in BUSY_RETRIES:
        rc, out, err = module.run_command(argv, environ_update=env, data=data, binary_data=data is not None)
        if not busy_failure(rc, err):
            return rc, out, err
        time.sleep(delay)
    return module.run_command(argv, environ_update=env, data=data, binary_data=data is not None)


def ssh_env(timeout):
    """NIX_SSHOPTS for every SSH connection Nix opens: never prompt, never wait long, never learn keys.
    NIX_SSHOPTS of the task's environment (a port, HostKeyAlias) comes first: ssh takes the first value."""
    return {'NIX_SSHOPTS': ' '.join(filter(None, [os.environ.get('NIX_SSHOPTS', '').strip(),
                                                  '-o ConnectTimeout=%d -o BatchMode=yes -o UpdateHostKeys=no' % timeout]))}
