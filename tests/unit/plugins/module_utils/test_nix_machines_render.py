# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._nix_machines import (
    HEADER, NixMachinesError, encode_host_key, machines, parse, render,
)

# A real ed25519 host public key (a lab host's), as in /etc/ssh/ssh_host_ed25519_key.pub.
KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJIxfpwPzGI4D0pS0Yz4F/dUKg/tTq/qwAG3/7KH1vOU'
# What Nix 2.26 accepted for that key in the lab: `printf %s "$KEY" | base64 -w0`.
KEY_B64 = 'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpJeGZwd1B6R0k0RDBwUzBZejRGL2RVS2cvdFRxL3F3QUczLzdLSDF2T1U='


def one(**entry):
    entry.setdefault('host', 'b1.example.org')
    entry.setdefault('systems', ['x86_64-linux'])
    return machines([entry])[0]


def refused(entry, index=0):
    with pytest.raises(NixMachinesError) as info:
        machines([{'host': 'ok', 'systems': ['x86_64-linux']}] * index + [entry])
    return str(info.value)


def test_minimal_builder_gets_the_defaults():
    assert one() == 'ssh-ng://b1.example.org x86_64-linux - 1 1 - - -'


def test_micro_architecture_levels_from_extra_platforms_are_systems():
    # What `nix config show extra-platforms` lists on an x86_64 builder with Nix 2.26.
    assert one(systems=['x86_64-linux', 'x86_64-v1-linux', 'x86_64-v3-linux']).split()[1] == \
        'x86_64-linux,x86_64-v1-linux,x86_64-v3-linux'


def test_every_field_in_nix_column_order():
    line = one(protocol='ssh', user='nixbuild', systems=['x86_64-linux', 'i686-linux'],
               ssh_key='/root/.ssh/id_builder', max_jobs=8, speed_factor=2,
               supported_features=['kvm', 'big-parallel'], mandatory_features=['benchmark'],
               public_host_key=KEY + ' root@b1')
    assert line == ('ssh://nixbuild@b1.example.org x86_64-linux,i686-linux /root/.ssh/id_builder 8 2 '
                    'kvm,big-parallel benchmark ' + KEY_B64)


def test_rendered_file_has_the_header_and_parses_back():
    text = render(machines([{'host': 'a', 'systems': ['x86_64-linux'], 'mandatory_features': ['kvm']},
                            {'host': '10.0.0.7', 'user': 'root', 'systems': ['aarch64-linux'], 'max_jobs': '4'}]))
    assert text.splitlines()[0] == HEADER and text.endswith('\n')
    assert parse(text) == [
        ['ssh-ng://a', 'x86_64-linux', None, '1', '1', None, 'kvm', None],
        ['ssh-ng://root@10.0.0.7', 'aarch64-linux', None, '4', '1', None, None, None],
    ]


def test_empty_list_leaves_only_the_header():
    assert render(machines([])) == HEADER + '\n'
    # Nix splits on ";" even inside a comment: a ";" in the header would make its tail a machine.
    assert parse(render([])) == [] and ';' not in HEADER


def test_ipv6_is_bracketed_and_duplicates_collapse():
    assert one(host='fd00::7', systems=['x86_64-linux', 'x86_64-linux']) == 'ssh-ng://[fd00::7] x86_64-linux - 1 1 - - -'
    assert one(host='[fd00::7]').startswith('ssh-ng://[fd00::7] ')


def test_host_key_encoding_drops_comment_and_newline():
    assert encode_host_key('x', KEY + ' root@b1\n') == KEY_B64
    assert base64.b64decode(KEY_B64).decode() == KEY


@pytest.mark.parametrize('key, says', [
    ('AAAAC3NzaC1lZDI1NTE5AAAAIJIxfpwPzGI4D0pS0Yz4F/dUKg/tTq/qwAG3/7KH1vOU', '"TYPE BASE64"'),
    (KEY_B64, 'already base64-encoded'),
    ('ssh-dss AAAAB3NzaC1kc3M=', 'TYPE one of ssh-ed25519'),
    ('ssh-ed25519 not!base64', 'not a valid base64 SSH key'),
    ('ssh-ed25519 AAAA', 'not a valid base64 SSH key'),
    ('ssh-rsa ' + KEY.split()[1], "says ssh-rsa but the key data is 'ssh-ed25519'"),
    (42, '"TYPE BASE64"'),
])
def test_bad_host_keys(key, says):
    assert says in refused({'host': 'b', 'systems': ['x86_64-linux'], 'public_host_key': key})


@pytest.mark.parametrize('entry, says', [
    ('b1', "builders[1]: expected a dict"),
    ({'host': 'b2.example.org', 'systems': ['x86_64-linux'], 'maxjobs': 4},
     "builders[1] (b2.example.org): unknown key 'maxjobs'; known keys are host, protocol, user, port,"),
    ({'systems': ['x86_64-linux']}, 'builders[1]: host is required'),
    ({'host': 'ssh://b', 'systems': ['x86_64-linux']}, 'has a scheme'),
    ({'host': 'root@b', 'systems': ['x86_64-linux']}, 'give the SSH user with user'),
    ({'host': 'b:2222', 'systems': ['x86_64-linux']}, 'is not a host name or IP address'),
    ({'host': 'b c', 'systems': ['x86_64-linux']}, 'is not a host name or IP address'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'port': 2222}, 'root\'s ~/.ssh/config instead ("Host b" then "Port 2222")'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'protocol': 'https'}, 'protocol must be one of ssh-ng, ssh'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'user': 'a b'}, 'not a valid SSH user name'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'user': 'me@x'}, 'not a valid SSH user name'),
    ({'host': 'b'}, 'systems must list at least one system'),
    ({'host': 'b', 'systems': []}, 'systems must list at least one system'),
    ({'host': 'b', 'systems': 'x86_64-linux'}, 'systems must be a list'),
    ({'host': 'b', 'systems': ['x86_64']}, "systems item 'x86_64' does not match"),
    ({'host': 'b', 'systems': ['X86_64-Linux']}, 'does not match'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'ssh_key': 'id_ed25519'}, 'ssh_key must be an absolute path'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'ssh_key': '/root/my key'}, 'ssh_key must be an absolute path'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'ssh_key': '/root/k;ssh://x'}, 'ssh_key must be an absolute path'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'ssh_key': '/root/.ssh/id.pub'}, 'is a public key'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'max_jobs': 0}, 'max_jobs must be a whole number >= 1'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'max_jobs': True}, 'max_jobs must be a whole number'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'speed_factor': 1.5}, 'speed_factor must be a whole number >= 1'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'speed_factor': '-1'}, 'speed_factor must be a whole number'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'supported_features': ['big parallel']}, 'supported_features item'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'mandatory_features': ['kvm,x']}, 'mandatory_features item'),
    ({'host': 'b', 'systems': ['x86_64-linux'], 'mandatory_features': 'kvm'}, 'mandatory_features must be a list'),
])
def test_every_field_is_checked_and_the_entry_named(entry, says):
    assert says in refused(entry, index=1)


def test_same_machine_twice_is_refused():
    with pytest.raises(NixMachinesError, match=r'builders\[0\] and builders\[1\] are both ssh-ng://b'):
        machines([{'host': 'b', 'systems': ['x86_64-linux']}, {'host': 'b', 'systems': ['i686-linux']}])


def test_parse_reads_comments_semicolons_and_short_lines():
    assert parse('# c\n\nssh://a x86_64-linux # note\nssh://b - - 2;ssh://c\n') == [
        ['ssh://a', 'x86_64-linux'] + [None] * 6,
        ['ssh://b', None, None, '2'] + [None] * 4,
        ['ssh://c'] + [None] * 7,
    ]
