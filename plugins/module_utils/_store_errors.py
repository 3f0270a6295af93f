# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Turn the stderr of a failed `nix store info` into a cause code and a plain-words message.

The patterns come from Nix 2.26 and OpenSSH 10 (see tests/unit/plugins/module_utils/test_store_errors.py
for the captured samples). Order matters: one failure often prints several of them, e.g. a remote
`command not found` is followed by "Nix daemon disconnected unexpectedly"."""

import re

# Private module_utils: no public API promise.

# Causes worth another attempt: the server answered, then dropped the connection before the key
# exchange, as sshd does beyond MaxStartups (many clients at once).
TRANSIENT = ('overloaded',)

_RULES = (
    ('overloaded',
     r'kex_exchange_identification|ssh_exchange_identification',
     'The server dropped the connection before the key exchange: its sshd refuses new connections beyond '
     'MaxStartups when many hosts connect at once (raise MaxStartups on that host, or run fewer forks).'),
    ('host_key_mismatch', r'REMOTE HOST IDENTIFICATION HAS CHANGED',
     'The host key the server sent is not the one in known_hosts (the host was reinstalled, or someone '
     'is in the middle). Check the new key, then replace the old entry in known_hosts.'),
    ('host_key_unknown', r'Host key verification failed|No \S+ host key is known for',
     'The server\'s host key is not in known_hosts of the user that connects (root for the Nix daemon). '
     'Add it there; unknown keys are never accepted.'),
    ('key_refused', r'Permission denied \(|Too many authentication failures',
     'The server refused every SSH key offered. Authorize the connecting user\'s public key for the '
     'remote user, or name the right key with ?ssh-key= in the store URL.'),
    ('unreachable',
     r'Could not resolve host|Name or service not known|Temporary failure in name resolution'
     r'|Connection refused|No route to host|Network is unreachable|timed out|Timeout was reached'
     r'|Could not connect to server',
     'Nothing answered: the name does not resolve, nothing listens on the port, the network drops the '
     'connection, or (for the daemon store) the Nix daemon is not running.'),
    ('remote_nix_missing', r'nix-(?:daemon|store): (?:command )?not found|command not found: nix-(?:daemon|store)',
     'The remote host has no nix-daemon or nix-store on the PATH of a non-interactive SSH session. Install '
     'Nix there, or give the full path with ?remote-program= in the store URL.'),
    ('user_not_allowed',
     # Nix 2.26 quotes paths with '...', 2.34 with "...".
     r"""(['"])[^'"]*/nix/[^'"]*\1: Permission denied|is not allowed to connect"""
     r'|Nix daemon disconnected unexpectedly|error: reading from file: Connection reset by peer',
     'The user may not use that Nix store: it may not open the daemon socket (on Debian only the group '
     'nix-users may) or the store\'s files, or the daemon\'s allowed-users leaves it out (the daemon then '
     'hangs up at once and logs "is not allowed to connect").'),
    ('not_a_cache', r'does not appear to be a binary cache',
     'The URL answers, but there is no binary cache there (no nix-cache-info).'),
)

OTHER_MESSAGE = 'Nix could not open the store; see stderr.'


def classify(stderr):
    """Return (cause, message) for the stderr of a failed store probe."""
    for cause, pattern, message in _RULES:
        if re.search(pattern, stderr or ''):
            return cause, message
    return 'other', OTHER_MESSAGE
