# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""classify() over stderr captured from `nix store info --json --store URL` (Nix 2.26.3, OpenSSH 10.0p2,
Debian trixie lab hosts, NIX_SSHOPTS='-o ConnectTimeout=5 -o BatchMode=yes'). OpenSSH ends its own
lines with \\r\\n; Nix with \\n."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._store_errors import classify

SSH_FAILED = "error: failed to start SSH connection to 'b'\n"

MISMATCH = (
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n"
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n"
    "Someone could be eavesdropping on you right now (man-in-the-middle attack)!\r\n"
    "It is also possible that a host key has just been changed.\r\n"
    "The fingerprint for the ED25519 key sent by the remote host is\n"
    "SHA256:3D5n6mIldR9L6DC1KlUN4AvHxqseYdZvVt+J7uw56sE.\r\n"
    "Please contact your system administrator.\r\n"
    "Add correct host key in /root/.ssh/known_hosts to get rid of this message.\r\n"
    "Offending ED25519 key in /root/.ssh/known_hosts:1\r\n"
    "  remove with:\r\n"
    "  ssh-keygen -f '/root/.ssh/known_hosts' -R 'b'\r\n"
    "Host key for b has changed and you have requested strict checking.\r\n"
    "Host key verification failed.\r\n" + SSH_FAILED)

SAMPLES = [
    # ssh-ng://b and ssh://b, b's key not in root's known_hosts
    ('host_key_unknown', "Host key verification failed.\r\n" + SSH_FAILED),
    # the same with another host's ed25519 key listed for b
    ('host_key_mismatch', MISMATCH),
    # root's key swapped for one that b's root does not authorize
    ('key_refused', "root@b: Permission denied (publickey,password).\r\n" + SSH_FAILED),
    # a root ~/.ssh/config alias for b with Port 2222, where nothing listens
    # sshd beyond MaxStartups (OpenSSH 10): reset or closed before the key exchange
    ('overloaded', "kex_exchange_identification: read: Connection reset by peer\r\n"
                   "Connection reset by 10.89.2.3 port 22\r\n"
                   "error: failed to start SSH connection to 'b'\n"),
    ('overloaded', "kex_exchange_identification: Connection closed by remote host\r\n"
                   "Connection closed by 10.89.2.3 port 22\r\n"),
    ('unreachable', "ssh: connect to host b port 2222: Connection refused\r\n"
                    "error: failed to start SSH connection to 'b-closed'\n"),
    # the same alias on a port where something accepts but never speaks
    ('unreachable', "Connection timed out during banner exchange\r\n"
                    "Connection to 10.89.2.3 port 2223 timed out\r\n"
                    "error: failed to start SSH connection to 'b-silent'\n"),
    ('unreachable', "ssh: Could not resolve hostname nosuchhost: Name or service not known\r\n"
                    "error: failed to start SSH connection to 'nosuchhost'\n"),
    # Nix 2.26 does not take a port in the URL: it becomes part of the host name
    ('unreachable', "ssh: Could not resolve hostname b:2222: Name or service not known\r\n"
                    "error: failed to start SSH connection to 'b:2222'\n"),
    # store daemon, nix-daemon.socket stopped
    ('unreachable', "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused\n"),
    # http store, one attempt (download-attempts = 1)
    ('unreachable', "error: unable to download 'http://b:8080/cache/nix-cache-info': Could not connect to server (7) "
                    "Failed to connect to b port 8080 after 0 ms: Could not connect to server\n"),
    ('unreachable', "warning: error: unable to download 'http://nosuchhost/cache/nix-cache-info': Could not resolve "
                    "hostname (6) Could not resolve host: nosuchhost; retrying in 280 ms\n"
                    "error: unable to download 'http://nosuchhost/cache/nix-cache-info': Could not resolve hostname "
                    "(6) Could not resolve host: nosuchhost\n"),
    # ssh-ng://c and ssh://c, c has no Nix
    ('remote_nix_missing', "bash: line 1: nix-daemon: command not found\n"
                           "error: cannot open connection to remote store 'ssh-ng://': error: Nix daemon "
                           "disconnected unexpectedly (maybe it crashed?)\n"),
    ('remote_nix_missing', "bash: line 1: nix-store: command not found\nerror: cannot connect to 'c'\n"),
    # ssh-ng://nobodyx@b and ssh://nobodyx@b, nobodyx not in nix-users on b
    ('user_not_allowed', "error: getting status of '/nix/var/nix/daemon-socket/socket': Permission denied\n"
                         "error: cannot open connection to remote store 'ssh-ng://': error: Nix daemon "
                         "disconnected unexpectedly (maybe it crashed?)\n"),
    ('user_not_allowed', "error: getting status of '/nix/var/nix/daemon-socket/socket': Permission denied\n"
                         "error: cannot connect to 'nobodyx@b'\n"),
    # ssh-ng://memberx@b, memberx in nix-users but b has allowed-users = root (b's daemon logs
    # "user 'memberx' is not allowed to connect to the Nix daemon"; the client sees only this)
    ('user_not_allowed', "error: cannot open connection to remote store 'ssh-ng://': error: Nix daemon "
                         "disconnected unexpectedly (maybe it crashed?)\n"),
    # store daemon as a local user in nix-users, local allowed-users = root
    ('user_not_allowed', "error: cannot open connection to remote store 'daemon': error: reading from file: "
                         "Connection reset by peer\n"),
    # store daemon and store local as a local user outside nix-users
    ('user_not_allowed', "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Permission denied\n"),
    ('user_not_allowed', "error: opening lock file '/nix/var/nix/db/big-lock': Permission denied\n"),
    # the same on a host where the local store was never opened before
    ('user_not_allowed', "error: creating directory '/nix/store': Permission denied\n"),
    # Nix 2.34.8 (lab variant nixsid) quotes paths with double quotes: ssh://nobodyx@b, and store
    # local as a user outside nix-users on a host whose local store was never opened
    ('user_not_allowed', 'error: getting status of "/nix/var/nix/daemon-socket/socket": Permission denied\n'
                         "error: cannot connect to 'b'\n"),
    ('user_not_allowed', 'error: creating directory "/nix/store": Permission denied\n'),
    # http store that answers without a nix-cache-info
    ('not_a_cache', "error: 'http://b:8080/empty' does not appear to be a binary cache\n"),
    # ssh://b?remote-program=nix-daemon (the wrong program for the ssh:// protocol)
    ('other', "error: unrecognised flag '--serve'\nTry 'nix-daemon --help' for more information.\n"
              "error: cannot connect to 'b'\n"),
]


@pytest.mark.parametrize('cause, stderr', SAMPLES)
def test_captured_samples(cause, stderr):
    assert classify(stderr)[0] == cause


def test_every_cause_has_a_message_and_empty_stderr_is_other():
    for cause, stderr in SAMPLES:
        assert len(classify(stderr)[1]) > 20
    assert classify('')[0] == 'other'
    assert classify(None)[0] == 'other'
