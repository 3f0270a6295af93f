# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the nix_machines module in-process against real files in a temporary directory."""

import os
import stat

import pytest


from ansible_collections.nixkit.nix.plugins.module_utils._nix_machines import HEADER
from ansible_collections.nixkit.nix.plugins.modules import nix_machines
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module

BUILDERS = [{'host': 'b1', 'user': 'root', 'systems': ['x86_64-linux'], 'max_jobs': 4}]
LINE = 'ssh-ng://root@b1 x86_64-linux - 4 1 - - -'
ORIGINAL = HEADER + '\nssh://old x86_64-linux\n'


def run(capsys, **args):
    return run_module(nix_machines.main, capsys, **args)


@pytest.fixture
def machines(tmp_path):
    path = tmp_path / 'machines'
    path.write_text(ORIGINAL)
    return path


def test_check_real_check_real(capsys, machines):
    args = dict(path=str(machines), builders=BUILDERS)
    first = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **args)
    assert first['changed'] and machines.read_text() == ORIGINAL
    assert first['diff']['before'] == ORIGINAL and first['diff']['after'] == HEADER + '\n' + LINE + '\n'
    assert first['machines'] == [LINE]
    assert run(capsys, **args)['changed']
    assert machines.read_text() == HEADER + '\n' + LINE + '\n'
    assert not run(capsys, _ansible_check_mode=True, **args)['changed']
    again = run(capsys, **args)
    assert not again['changed'] and again['machines'] == [LINE]


def test_invalid_builder_writes_nothing(capsys, machines):
    bad = BUILDERS + [{'host': 'builder2.example.org', 'systems': ['x86_64-linux'], 'maxjobs': 2}]
    result = run(capsys, path=str(machines), builders=bad)
    assert result['failed'] and result['rc'] == 1
    assert "builders[1] (builder2.example.org): unknown key 'maxjobs'" in result['msg']
    assert machines.read_text() == ORIGINAL


def test_absent_check_then_real_then_again(capsys, machines):
    check = run(capsys, _ansible_check_mode=True, _ansible_diff=True, path=str(machines), state='absent')
    assert check['changed'] and check['diff'] == dict(before=ORIGINAL, after='', before_header=str(machines),
                                                      after_header=str(machines))
    assert machines.exists()
    removed = run(capsys, path=str(machines), state='absent', backup=True)
    assert removed['changed'] and not machines.exists() and removed['machines'] == []
    assert open(removed['backup_file']).read() == ORIGINAL
    assert not run(capsys, path=str(machines), state='absent')['changed']


def test_builders_required_when_present(capsys, machines):
    result = run(capsys, path=str(machines))
    assert result['failed'] and 'builders' in result['msg']


def test_new_file_is_world_readable(capsys, tmp_path):
    path = tmp_path / 'new'
    assert run(capsys, path=str(path), builders=[])['changed']
    assert path.read_text() == HEADER + '\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_hand_written_file_is_replaced_with_a_warning(capsys, machines, monkeypatch):
    warnings = []
    monkeypatch.setattr(nix_machines.AnsibleModule, 'warn', lambda self, msg, **kw: warnings.append(msg))
    machines.write_text('ssh://hand x86_64-linux\n')
    assert run(capsys, path=str(machines), builders=BUILDERS)['changed']
    assert machines.read_text() == HEADER + '\n' + LINE + '\n'
    assert any('not written by nix_machines' in w for w in warnings)


def test_create_false_refuses_missing_file(capsys, tmp_path):
    result = run(capsys, path=str(tmp_path / 'none'), create=False, builders=BUILDERS)
    assert result['failed'] and 'create=true' in result['msg']


def test_nixos_generated_file_is_refused(capsys, machines, monkeypatch):
    real = os.path.realpath
    monkeypatch.setattr(os.path, 'realpath',
                        lambda p: '/nix/store/abc-machines' if p == str(machines) else real(p))
    for args in (dict(builders=BUILDERS), dict(state='absent')):
        result = run(capsys, path=str(machines), **args)
        assert result['failed'] and 'nix.buildMachines' in result['msg']
    assert machines.read_text() == ORIGINAL


def test_mode_change_alone_is_a_change(capsys, machines):
    args = dict(path=str(machines), builders=BUILDERS, mode='0600')
    assert run(capsys, **args)['changed']
    assert stat.S_IMODE(os.stat(machines).st_mode) == 0o600
    assert not run(capsys, **args)['changed']
