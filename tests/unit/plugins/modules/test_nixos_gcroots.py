# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nixos_gcroots as a module: checks, check mode, the links it sets in a real directory."""

import os

import pytest

from ansible_collections.nixkit.nix.plugins.modules import nixos_gcroots

from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module

V1 = '/nix/store/zx9ky4gf5zb87ncgnsiyxxdgzjm17jcy-nixos-system-t1-v1'
V2 = '/nix/store/jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0-nixos-system-t1-v2'
V3 = '/nix/store/rknik9q84q507sc8nl7jq3jcmxrlyczq-nixos-system-t1-v3'


@pytest.fixture
def gcroots(tmp_path, monkeypatch):
    base = str(tmp_path / 'gcroots') + '/'
    monkeypatch.setattr(nixos_gcroots, 'GCROOTS', base)
    monkeypatch.setattr(nixos_gcroots, 'valid_here', lambda path: path != V3)
    return base + 'nixkit-deploy'


def run(capsys, **args):
    return run_module(nixos_gcroots.main, capsys, **args)


def test_rotation_check_mode_and_idempotence(gcroots, capsys):
    first = run(capsys, dir=gcroots, name='t1', running=V1)
    assert first['changed'] and first['current'] == V1 and first['previous'] == [] and first['rc'] == 0
    assert os.readlink(os.path.join(gcroots, 't1')) == V1
    predicted = run(capsys, dir=gcroots, name='t1', running=V2, _ansible_check_mode=True)
    assert predicted['changed'] and predicted['previous'] == [V1] and os.readlink(os.path.join(gcroots, 't1')) == V1
    second = run(capsys, dir=gcroots, name='t1', running=V2)
    assert second['changed'] and os.readlink(os.path.join(gcroots, '.history', 't1', '1')) == V1
    assert not run(capsys, dir=gcroots, name='t1', running=V2)['changed']
    # keep 0: the previous one is released
    released = run(capsys, dir=gcroots, name='t1', running=V2, keep=0)
    assert released['changed'] and released['released'] == [V1] and os.listdir(os.path.join(gcroots, '.history', 't1')) == []


def test_a_system_not_in_this_store_gets_no_root(gcroots, capsys):
    run(capsys, dir=gcroots, name='t1', running=V1)
    out = run(capsys, dir=gcroots, name='t1', running=V3)
    assert not out['changed'] and out['current'] == V1 and 'is not in this host\'s store' in out['msg']


def test_the_building_link_is_dropped_when_asked(gcroots, capsys):
    os.makedirs(os.path.join(gcroots, '.building'))
    os.symlink(V2, os.path.join(gcroots, '.building', 't1'))
    kept = run(capsys, dir=gcroots, name='t1', running=V1, drop_building=False)
    assert kept['changed'] and os.path.islink(os.path.join(gcroots, '.building', 't1'))
    dropped = run(capsys, dir=gcroots, name='t1', running=V1)
    assert dropped['changed'] and not os.path.lexists(os.path.join(gcroots, '.building', 't1'))


@pytest.mark.parametrize('args, words', [
    ({'dir': '/tmp/roots', 'name': 't1'}, 'dir must be a directory under'),
    ({'name': '.history'}, 'name must be a target host name'),
    ({'name': 't1', 'running': '/tmp/x'}, 'running must be a store path'),
    ({'name': 't1', 'running': V1, 'keep': -1}, 'keep must be 0 or more'),
])
def test_refusals(gcroots, capsys, args, words):
    out = run(capsys, **dict({'dir': gcroots}, **args))
    assert out['rc'] == 1 and words in out['msg'] and not os.path.exists(gcroots)
