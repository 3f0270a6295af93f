# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""authorized_keys lines that bind a key to one Nix command: the only place they are composed.

Builders (their build user) and caches (nix-ssh) let other hosts' keys in this way: "restrict" takes away
the shell, forwarding and the pty, and the forced command is the Nix protocol and nothing else. The key
files belong to root, so the account cannot add keys of its own."""

from __future__ import annotations

import posixpath


def forced_command(daemon, protocol, write=False):
    """The command a key may run, from the path of the host's ``nix-daemon`` (install probe's ``daemon``).

    ssh-ng: the daemon protocol on stdio (what the session may do is the daemon's trust decision);
    ssh: the legacy ``nix-store --serve`` beside it, read-only unless ``write``."""
    if protocol == 'ssh-ng':
        return '%s --stdio' % daemon
    if protocol == 'ssh':
        return '%s/nix-store --serve%s' % (posixpath.dirname(daemon), ' --write' if write else '')
    raise ValueError('protocol must be ssh-ng or ssh, got %r' % (protocol,))


def restricted(key, command):
    """The authorized_keys line of ``key`` that may run ``command`` only."""
    return 'restrict,command="%s" %s' % (command, key.strip())


def file_content(header, lines):
    """An authorized_keys file: a comment saying who manages it, then one line per key."""
    return ''.join('%s\n' % line for line in ['# ' + header] + list(lines))
