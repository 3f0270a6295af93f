# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nix_machines refuses systems Nix does not know before writing, unless allow_custom_systems is set."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._nix_machines import HEADER
from ansible_collections.nixkit.nix.plugins.modules import nix_machines
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module

ORIGINAL = HEADER + '\nssh-ng://b1 x86_64-linux - 1 1 - - -\n'
GOOD = {'host': 'b1', 'systems': ['x86_64-linux']}


def run(capsys, **args):
    return run_module(nix_machines.main, capsys, **args)


@pytest.fixture
def machines(tmp_path):
    path = tmp_path / 'machines'
    path.write_text(ORIGINAL)
    return path


@pytest.mark.parametrize('check_mode', [True, False])
def test_unknown_system_is_refused_and_nothing_written(capsys, machines, check_mode):
    bad = {'host': 'builder2.example.org', 'systems': ['x86_64-linux', 'x86-linux']}
    result = run(capsys, _ansible_check_mode=check_mode, path=str(machines), builders=[GOOD, bad])
    assert result['failed'] and result['rc'] == 1
    assert result['msg'] == (
        "%s: builders[1] (builder2.example.org): systems item 'x86-linux' is not a system Nix knows; did you "
        "mean 'x86_64-linux'? Systems are cpu-os pairs from nixpkgs lib.systems.doubles, such as x86_64-linux, "
        "aarch64-linux or aarch64-darwin; set allow_custom_systems=true to use another one" % machines)
    assert machines.read_text() == ORIGINAL


def test_a_missing_file_is_not_created_for_a_refused_entry(capsys, tmp_path):
    path = tmp_path / 'machines'
    result = run(capsys, path=str(path), builders=[{'host': 'b', 'systems': ['arm64-linux']}])
    assert result['failed'] and "did you mean 'aarch64-linux'?" in result['msg'] and not path.exists()


def test_known_systems_and_extra_platform_levels_are_written(capsys, machines):
    builders = [{'host': 'b1', 'systems': ['x86_64-linux', 'i686-linux', 'x86_64-v3-linux']},
                {'host': 'mac', 'systems': ['aarch64-darwin', 'x86_64-darwin']}]
    result = run(capsys, path=str(machines), builders=builders)
    assert result['changed'] and result['machines'] == [
        'ssh-ng://b1 x86_64-linux,i686-linux,x86_64-v3-linux - 1 1 - - -',
        'ssh-ng://mac aarch64-darwin,x86_64-darwin - 1 1 - - -']


def test_allow_custom_systems_writes_other_cpu_os_pairs(capsys, machines):
    args = dict(path=str(machines), allow_custom_systems=True,
                builders=[{'host': 'b1', 'systems': ['x86_64-linux', 'riscv64-myboard']}])
    check = run(capsys, _ansible_check_mode=True, **args)
    assert check['changed'] and machines.read_text() == ORIGINAL
    real = run(capsys, **args)
    assert real['changed'] and real['machines'] == check['machines'] == [
        'ssh-ng://b1 x86_64-linux,riscv64-myboard - 1 1 - - -']
    assert machines.read_text() == HEADER + '\nssh-ng://b1 x86_64-linux,riscv64-myboard - 1 1 - - -\n'


def test_allow_custom_systems_still_refuses_malformed_ones(capsys, machines):
    result = run(capsys, path=str(machines), allow_custom_systems=True,
                 builders=[{'host': 'b1', 'systems': ['x86 64 linux']}])
    assert result['failed'] and "builders[0] (b1): systems item 'x86 64 linux' does not match" in result['msg']
    assert "did you mean 'x86_64-linux'?" in result['msg']
    assert machines.read_text() == ORIGINAL


def test_allow_custom_systems_must_be_a_boolean(capsys, machines):
    result = run(capsys, path=str(machines), allow_custom_systems='perhaps', builders=[GOOD])
    assert result['failed'] and 'allow_custom_systems' in result['msg']
    assert machines.read_text() == ORIGINAL
