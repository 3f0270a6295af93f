# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Builder systems must be cpu-os pairs Nix knows, unless allow_custom_systems is set."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._nix_machines import (
    DOUBLES, KNOWN_SYSTEMS, NixMachinesError, machines, suggest_system, system_problem,
)


def refused(systems, allow_custom_systems=False, host='b1.example.org'):
    with pytest.raises(NixMachinesError) as info:
        machines([{'host': 'ok', 'systems': ['x86_64-linux']}, {'host': host, 'systems': systems}],
                 allow_custom_systems)
    return str(info.value)


@pytest.mark.parametrize('system', sorted(KNOWN_SYSTEMS))
def test_every_known_system_is_accepted(system):
    assert machines([{'host': 'b', 'systems': [system]}])[0].split()[1] == system


def test_the_list_holds_what_builders_commonly_report():
    for system in ('x86_64-linux', 'i686-linux', 'aarch64-linux', 'armv7l-linux', 'armv6l-linux',
                   'armv5tel-linux', 'powerpc64le-linux', 'riscv64-linux', 's390x-linux', 'loongarch64-linux',
                   'mips64el-linux', 'aarch64-darwin', 'x86_64-darwin', 'x86_64-freebsd', 'wasm32-wasi',
                   'x86_64-v2-linux', 'x86_64-v4-linux'):
        assert system in KNOWN_SYSTEMS
    assert all(len(double.split('-')) == 2 for double in DOUBLES)


def test_unknown_system_names_the_entry_the_field_and_the_nearest_system():
    message = refused(['x86_64-linux', 'x86-linux'])
    assert message.startswith("builders[1] (b1.example.org): systems item 'x86-linux' is not a system Nix knows; "
                              "did you mean 'x86_64-linux'?")
    assert 'allow_custom_systems=true' in message


def test_unknown_system_without_a_near_one_says_what_systems_look_like():
    message = refused(['foo-bar'])
    assert "systems item 'foo-bar' is not a system Nix knows. Systems are cpu-os pairs" in message
    assert 'did you mean' not in message


@pytest.mark.parametrize('value, nearest', [
    ('x86-linux', 'x86_64-linux'),
    ('amd64-linux', 'x86_64-linux'),
    ('x86_64-unknown-linux-gnu', 'x86_64-linux'),
    ('linux-x86_64', 'x86_64-linux'),
    ('arm64-darwin', 'aarch64-darwin'),
    ('aarch64-apple-darwin', 'aarch64-darwin'),
    ('x86_64-macos', 'x86_64-darwin'),
    ('i386-linux', 'i686-linux'),
    ('armv7-linux', 'armv7l-linux'),
    ('ppc64le-linux', 'powerpc64le-linux'),
    ('riscv64-linx', 'riscv64-linux'),
    ('aarch64-linus', 'aarch64-linux'),
    ('X86_64-Linux', 'x86_64-linux'),
    ('x86 64 linux', 'x86_64-linux'),
    ('x86_64', 'x86_64-linux'),
])
def test_suggestions(value, nearest):
    assert suggest_system(value) == nearest


def test_malformed_systems_are_refused_with_a_suggestion_too():
    message = refused(['x86 64 linux'])
    assert "systems item 'x86 64 linux' does not match" in message and "did you mean 'x86_64-linux'?" in message
    assert "did you mean 'x86_64-linux'?" in refused(['X86_64-Linux'])


def test_allow_custom_systems_accepts_other_cpu_os_pairs():
    assert machines([{'host': 'b', 'systems': ['x86_64-linux', 'riscv64-myboard']}],
                    allow_custom_systems=True) == ['ssh-ng://b x86_64-linux,riscv64-myboard - 1 1 - - -']
    assert system_problem('riscv64-myboard', allow_custom=True) is None
    assert 'is not a system Nix knows' in system_problem('riscv64-myboard')


@pytest.mark.parametrize('value', ['riscv64', 'Riscv64-Board', 'a b', '', None, 3])
def test_allow_custom_systems_still_needs_the_cpu_os_shape(value):
    assert 'does not match' in refused([value], allow_custom_systems=True)


def test_known_systems_have_no_problem():
    assert system_problem('x86_64-linux') is None
    assert system_problem('x86_64-v3-linux') is None
