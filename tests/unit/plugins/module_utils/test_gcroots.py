# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nixos_gcroots: which deployed systems keep a root (module_utils/_gcroots.py), and the links on disk."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils import _gcroots as roots
from ansible_collections.nixkit.nix.plugins.module_utils._kv import parse_kv

V1 = '/nix/store/zx9ky4gf5zb87ncgnsiyxxdgzjm17jcy-nixos-system-t1-v1'
V2 = '/nix/store/jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0-nixos-system-t1-v2'
V3 = '/nix/store/rknik9q84q507sc8nl7jq3jcmxrlyczq-nixos-system-t1-v3'
V4 = '/nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-t1-v4'


@pytest.mark.parametrize('current, history, running, keep, expected', [
    (None, [], V1, 1, (V1, [])),                      # first deployment
    (V1, [], V2, 1, (V2, [V1])),                      # the old one becomes the previous one
    (V2, [V1], V3, 1, (V3, [V2])),                    # V1 is released
    (V2, [V1], V3, 2, (V3, [V2, V1])),
    (V3, [V2, V1], V4, 0, (V4, [])),                  # current only
    (V2, [V1], None, 1, (V2, [V1])),                  # failed before/at the activation: nothing moves
    (V2, [V1], V2, 1, (V2, [V1])),                    # rolled back to the current one, or the same system again
    (V2, [V1], V1, 1, (V1, [V2])),                    # back to the previous one: they swap
    (V3, [V2, V1], V3, 1, (V3, [V2])),                # keep lowered: the history shrinks
    (V2, [V2, V1, V1], None, 5, (V2, [V1])),          # duplicates go
])
def test_plan(current, history, running, keep, expected):
    assert roots.plan(current, history, running, keep) == expected


def test_plan_refuses_negative_keep():
    with pytest.raises(roots.GcrootsError, match='keep must be 0 or more'):
        roots.plan(V1, [], V2, -1)


@pytest.mark.parametrize('name', ['', '.history', 'a/b', '..'])
def test_names(name):
    with pytest.raises(roots.GcrootsError, match='name must be a target host name'):
        roots.check_name(name)


def test_store_path_check():
    roots.check_store_path(V1, 'running')
    roots.check_store_path(None, 'running')
    with pytest.raises(roots.GcrootsError, match='running must be a store path'):
        roots.check_store_path('/tmp/x', 'running')


def test_key_value_lines():
    assert parse_kv('a=1\r\nb=x=y\nnoise\n=v\na=2\n') == {'a': '2', 'b': 'x=y'}
    assert parse_kv(None) == {}


def test_probe_is_parsed():
    text = 'current=%s\r\nbuilding=\nhistory_2=%s\nhistory_1=\nhistory_10=%s\nrunning=absent\n' % (V2, V1, V3)
    assert roots.parse_probe(text) == (V2, [V1, V3], None, {1: '', 2: V1, 10: V3}, False)
    assert roots.parse_probe('current=\nbuilding=%s\n' % V4) == (None, [], V4, {}, None)


def test_apply_touches_only_what_differs():
    script = roots.apply_script('/nix/var/nix/gcroots/d', 't1', (V2, {1: V1, 2: V4, 3: ''}), (V3, [V2, V4]), False)
    assert "link %s /nix/var/nix/gcroots/d/t1" % V3 in script
    assert "link %s /nix/var/nix/gcroots/d/.history/t1/1" % V2 in script
    assert '.history/t1/2' not in script                     # already right
    assert 'rm -f /nix/var/nix/gcroots/d/.history/t1/3' in script
    assert '.building' not in script and script.endswith('echo done=yes')
