# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nixos_gcroots as an action plugin: checks, check mode, and the links its two shell commands set,
really run by sh in a temporary directory (the store paths are stand-ins made there too)."""

import os
import subprocess

import pytest

from ansible_collections.nixkit.nix.plugins.action import nixos_gcroots
from ansible_collections.nixkit.nix.plugins.action.nixos_gcroots import ActionModule


class Task(object):
    def __init__(self, check_mode=False):
        self.check_mode = check_mode


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """(roots directory, store paths V1..V3 of which V3 is missing, command log)."""
    base = str(tmp_path / 'gcroots') + '/'
    monkeypatch.setattr(nixos_gcroots, 'GCROOTS', base)
    store = tmp_path / 'nix' / 'store'
    paths = ['/nix/store/%s-nixos-system-t1-v%d' % (h, n) for n, h in enumerate(
        ['zx9ky4gf5zb87ncgnsiyxxdgzjm17jcy', 'jv9i2mj2rcl27v6vd1xrpgs6pmx8g9h0', 'rknik9q84q507sc8nl7jq3jcmxrlyczq'], 1)]
    for path in paths[:2]:
        (store / os.path.basename(path)).mkdir(parents=True)
    return base + 'nixkit-deploy', paths, tmp_path, []


def run(lab, check_mode=False, answer=None, **args):
    directory, dummy, root, log = lab
    p = object.__new__(ActionModule)
    p._task = Task(check_mode)

    def shell(script, data=None):
        if answer is not None:    # what the connection gave instead of running the command
            log.append(script)
            return answer
        log.append(script)
        # The store paths are made under the temporary directory: /nix/store/X stands for ROOT/nix/store/X
        # in the "is it in the store" test only; the links themselves point at the real-looking paths.
        script = script.replace('[ -e /nix/store/', '[ -e %s/nix/store/' % root)
        done = subprocess.run(['sh', '-c', script + ' ; sleep 0'], capture_output=True, check=False)
        return {'rc': done.returncode, 'stdout': done.stdout.decode(), 'stderr': done.stderr.decode()}
    p._run = shell
    full = dict({'dir': directory, 'name': 't1', 'running': None, 'keep': 1, 'drop_building': True}, **args)
    return p._gcroots(full)


def link(lab, *parts):
    return os.readlink(os.path.join(lab[0], *parts))


def test_rotation_check_mode_and_idempotence(lab):
    d, (v1, v2, dummy), dummy, log = lab
    first = run(lab, running=v1)
    assert first['changed'] and first['current'] == v1 and first['previous'] == [] and not first.get('failed')
    assert link(lab, 't1') == v1 and len(log) == 2
    predicted = run(lab, check_mode=True, running=v2)
    assert predicted['changed'] and predicted['previous'] == [v1] and link(lab, 't1') == v1
    second = run(lab, running=v2)
    assert second['changed'] and link(lab, '.history', 't1', '1') == v1 and link(lab, 't1') == v2
    del log[:]
    again = run(lab, running=v2)
    assert not again['changed'] and len(log) == 1   # nothing to do: one read, no write
    released = run(lab, running=v2, keep=0)
    assert released['changed'] and released['released'] == [v1] and os.listdir(os.path.join(d, '.history', 't1')) == []
    # Back to an older system: the two swap. No temporary links are left anywhere.
    run(lab, running=v1, keep=3)
    assert link(lab, 't1') == v1 and link(lab, '.history', 't1', '1') == v2
    assert [n for r, ds, fs in os.walk(d) for n in fs + ds if n.endswith('.nixkit-tmp')] == []


def test_a_failed_deployment_moves_nothing_and_other_targets_are_untouched(lab):
    d, (v1, v2, dummy), dummy, dummy = lab
    run(lab, running=v1)
    run(lab, running=v2)
    assert not run(lab, running=None)['changed']
    assert link(lab, 't1') == v2 and link(lab, '.history', 't1', '1') == v1
    run(lab, name='t2', running=v1)
    assert link(lab, 't2') == v1 and link(lab, 't1') == v2


def test_a_system_not_in_this_store_gets_no_root(lab):
    dummy, (v1, dummy, v3), dummy, dummy = lab
    run(lab, running=v1)
    out = run(lab, running=v3)
    assert not out['changed'] and out['current'] == v1 and 'is not in this host\'s store' in out['msg']


def test_the_building_link_is_dropped_when_asked(lab):
    d, (v1, v2, dummy), dummy, dummy = lab
    os.makedirs(os.path.join(d, '.building'))
    os.symlink(v2, os.path.join(d, '.building', 't1'))
    kept = run(lab, running=v1, drop_building=False)
    assert kept['changed'] and os.path.islink(os.path.join(d, '.building', 't1'))
    dropped = run(lab, running=v1)
    assert dropped['changed'] and not os.path.lexists(os.path.join(d, '.building', 't1'))


def test_junk_in_the_history_is_replaced_or_removed(lab):
    d, (v1, v2, dummy), dummy, dummy = lab
    history = os.path.join(d, '.history', 't1')
    os.makedirs(history)
    for entry in ('1', '7'):
        open(os.path.join(history, entry), 'w').close()     # files, not links
    os.symlink(v1, os.path.join(d, 't1'))
    out = run(lab, running=v2)
    assert out['changed'] and sorted(os.listdir(history)) == ['1'] and link(lab, '.history', 't1', '1') == v1


def test_a_write_that_fails_is_reported(lab):
    d, (v1, dummy, dummy), dummy, dummy = lab
    os.makedirs(os.path.dirname(d))
    open(d, 'w').close()    # the roots directory is a file: nothing can be made under it
    out = run(lab, running=v1)
    assert out['failed'] and out['msg'].startswith('could not set the roots in %s: ' % d)


def test_a_read_that_fails_is_reported_and_nothing_is_written(lab):
    d, (v1, dummy, dummy), dummy, log = lab
    out = run(lab, running=v1, answer={'rc': 1, 'stdout': '', 'stderr': 'sh: readlink: Permission denied\n'})
    assert out['failed'] and out['msg'] == 'reading the roots in %s failed: sh: readlink: Permission denied' % d
    assert len(log) == 1 and not os.path.exists(d)


@pytest.mark.parametrize('args, words', [
    ({'dir': '/tmp/roots'}, 'dir must be a directory under'),
    ({'dir': '/nix/var/nix/gcroots/../../../etc'}, 'dir must be a directory under'),
    ({'name': '.history'}, 'name must be a target host name'),
    ({'running': '/tmp/x'}, 'running must be a store path'),
    ({'keep': -1}, 'keep must be 0 or more'),
])
def test_refusals_run_nothing(lab, args, words):
    out = run(lab, **args)
    assert out['failed'] and words in out['msg'] and lab[3] == [] and not os.path.exists(lab[0])
