# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_deploy_report: the report as the role's copy task wrote it, written atomically on the
controller, and the errors that name the variable."""

from __future__ import annotations

import datetime
import json
import os
import stat

from ansible_collections.nixkit.nix.plugins.action import nixos_deploy_report as rep

RECORD = {'host': 't1', 'status': 'ok', 'generation': 3, 'rolled_back': False, 'secrets_written': [], 'msg': '',
          'store_path': '/nix/store/aaaa-nixos-system-t1-v3', 'seconds': 4.2, 'previous_generation': None}


class Task(object):
    def __init__(self, check_mode=False):
        self.check_mode = check_mode


def plugin(check_mode=False):
    p = object.__new__(rep.ActionModule)
    p._task = Task(check_mode)
    return p


def args(path, results=None):
    return {'path': str(path), 'results': [RECORD] if results is None else results, 'variable': 'nixos_deploy_report_path'}


class Tagged(str):
    """What a templated string can be: a subclass of str."""


def test_the_text_is_what_to_nice_json_wrote():
    now = datetime.datetime(2026, 11, 30, 12, 0, 5, tzinfo=datetime.timezone.utc)
    text = rep.render([dict(RECORD, host=Tagged('t1'))], now)
    assert text.endswith('}\n') and text.startswith('{\n    "generated": "2026-11-30T12:00:05Z",\n    "hosts": [\n')
    assert json.loads(text) == {'generated': '2026-11-30T12:00:05Z', 'hosts': [RECORD]}
    assert '"generation": 3,' in text and '"rolled_back": false,' in text and '"previous_generation": null,' in text


def test_written_atomically_0644_and_replaced(tmp_path):
    path = tmp_path / 'report.json'
    path.write_text('old')
    done = plugin()._report(args(path, [RECORD, dict(RECORD, host='t2')]))
    assert done['changed'] and done['hosts'] == 2 and not done.get('failed')
    assert [h['host'] for h in json.loads(path.read_text())['hosts']] == ['t1', 't2']
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644
    assert os.listdir(str(tmp_path)) == ['report.json']


def test_check_mode_writes_nothing(tmp_path):
    done = plugin(check_mode=True)._report(args(tmp_path / 'r.json'))
    assert done['changed'] and done['msg'].startswith('would write') and not os.listdir(str(tmp_path))


def test_bad_paths_name_the_variable_and_write_nothing(tmp_path):
    missing = plugin()._report(args(tmp_path / 'no' / 'r.json'))
    assert missing['failed'] and missing['msg'].startswith('nixos_deploy_report_path (%s): its directory' % (tmp_path / 'no' / 'r.json'))
    directory = plugin()._report(args(tmp_path))
    assert directory['failed'] and 'is a directory' in directory['msg'] and 'nixos-deploy-report.json' in directory['msg']
    assert os.listdir(str(tmp_path)) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, 'Permission denied')
    monkeypatch.setattr(rep.os, 'replace', refuse)
    denied = plugin()._report(args(tmp_path / 'r.json'))
    assert denied['failed'] and denied['msg'] == ('nixos_deploy_report_path (%s): cannot write the report on the controller: '
                                                  'Permission denied' % (tmp_path / 'r.json'))
    assert os.listdir(str(tmp_path)) == []


def test_the_play_s_records_are_collected_in_play_order_skipping_hosts_without_one():
    hostvars = {'t2': {'nixos_deploy_result': dict(RECORD, host='t2')}, 't1': {'nixos_deploy_result': RECORD},
                'skipped': {'other': 1}, 'gone': {}}
    task_vars = {'hostvars': hostvars, 'ansible_play_hosts_all': ['t1', 'skipped', 't2', 'not-in-hostvars']}
    assert [r['host'] for r in rep.play_results(task_vars, 'nixos_deploy_result')] == ['t1', 't2']
    assert rep.play_results(task_vars, 'my_deploy') == [] and rep.play_results({}, 'nixos_deploy_result') == []


def test_a_path_that_names_no_file_is_refused(tmp_path):
    for bad in ('', str(tmp_path) + '/'):
        done = plugin()._report(args(bad))
        assert done['failed'] and done['msg'].startswith('nixos_deploy_report_path must name a file')
    assert os.listdir(str(tmp_path)) == []
