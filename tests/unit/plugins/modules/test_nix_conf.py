# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the nix_conf module in-process against real files in a temporary directory."""

import os
import stat

import pytest


from ansible_collections.nixkit.nix.plugins.modules import nix_conf
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module

ORIGINAL = '# hand-written\nmax-jobs = 2\ninclude /etc/nix/local.conf\n'


def run(capsys, **args):
    return run_module(nix_conf.main, capsys, **args)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / 'nix.conf'
    path.write_text(ORIGINAL)
    return path


def test_check_real_check_real(capsys, conf):
    args = dict(path=str(conf), settings={'max-jobs': 4, 'trusted-users': ['root']})
    first = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **args)
    assert first['changed'] and conf.read_text() == ORIGINAL
    assert 'max-jobs = 4\n' in first['diff']['after']
    assert first['diff']['before'] == ORIGINAL
    assert run(capsys, **args)['changed']
    # New settings go above the include line, so the included file keeps the last word.
    assert conf.read_text() == '# hand-written\nmax-jobs = 4\ntrusted-users = root\ninclude /etc/nix/local.conf\n'
    assert not run(capsys, _ansible_check_mode=True, **args)['changed']
    again = run(capsys, **args)
    assert not again['changed'] and again['changed_settings'] == []
    assert again['settings'] == {'max-jobs': '4', 'trusted-users': 'root'}


def test_differs_says_what_changed_says_for_a_validation_whose_changed_is_masked(capsys, conf):
    """The roles validate in check mode (changed_when: false) and skip the write when ``differs`` is false."""
    args = dict(path=str(conf), settings={'max-jobs': 4})
    assert run(capsys, _ansible_check_mode=True, **args)['differs'] is True
    assert run(capsys, **args)['differs'] is True
    assert run(capsys, _ansible_check_mode=True, **args)['differs'] is False
    conf.chmod(0o600)
    assert run(capsys, _ansible_check_mode=True, mode='0644', **args)['differs'] is True


def test_invalid_value_writes_nothing(capsys, conf):
    result = run(capsys, path=str(conf), settings={'max-jobs': 4, 'require-sigs': 'perhaps'})
    assert result['failed'] and result['rc'] == 1
    assert "'require-sigs'" in result['msg'] and 'one of true, false' in result['msg']
    assert conf.read_text() == ORIGINAL


def test_malformed_existing_file_is_reported_and_kept(capsys, conf):
    conf.write_text('max-jobs 4\n')
    result = run(capsys, path=str(conf), settings={'cores': 1})
    assert result['failed'] and 'line 1' in result['msg']
    assert conf.read_text() == 'max-jobs 4\n'


def test_new_file_is_world_readable(capsys, tmp_path):
    path = tmp_path / 'new.conf'
    assert run(capsys, path=str(path), settings={'sandbox': True})['changed']
    assert path.read_text() == 'sandbox = true\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_new_file_is_world_readable_under_a_strict_umask(capsys, tmp_path):
    path = tmp_path / 'strict.conf'
    old = os.umask(0o077)
    try:
        run(capsys, path=str(path), settings={'cores': 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_check_mode_on_missing_directory_predicts_creation(capsys, tmp_path):
    path = tmp_path / 'etc-nix' / 'nix.conf'
    result = run(capsys, _ansible_check_mode=True, path=str(path), settings={'cores': 0})
    assert result['changed'] and not path.parent.exists()
    failed = run(capsys, path=str(path), settings={'cores': 0})
    assert failed['failed'] and 'does not exist' in failed['msg']


def test_create_false_refuses_missing_file(capsys, tmp_path):
    result = run(capsys, path=str(tmp_path / 'none.conf'), create=False, settings={'cores': 0})
    assert result['failed'] and 'create=true' in result['msg']


def test_nixos_generated_file_is_refused(capsys, tmp_path, monkeypatch):
    link = tmp_path / 'nix.conf'
    link.write_text(ORIGINAL)
    real = os.path.realpath
    monkeypatch.setattr(os.path, 'realpath',
                        lambda p: '/nix/store/abc-nix.conf' if p == str(link) else real(p))
    result = run(capsys, path=str(link), settings={'cores': 0})
    assert result['failed'] and 'nix.settings' in result['msg']
    assert link.read_text() == ORIGINAL


def test_mode_change_alone_is_a_change(capsys, conf):
    args = dict(path=str(conf), settings={'max-jobs': 2}, mode='0600')
    assert run(capsys, **args)['changed']
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    assert not run(capsys, **args)['changed']
    assert conf.read_text() == ORIGINAL


def test_backup_keeps_previous_content(capsys, conf):
    result = run(capsys, path=str(conf), backup=True, settings={'cores': 2})
    assert open(result['backup_file']).read() == ORIGINAL


def test_require_sigs_false_warns(capsys, conf, monkeypatch):
    warnings = []
    monkeypatch.setattr(nix_conf.AnsibleModule, 'warn', lambda self, msg, **kw: warnings.append(msg))
    run(capsys, path=str(conf), settings={'require-sigs': False})
    assert any('require-sigs = false' in w for w in warnings)
    warnings.clear()
    run(capsys, path=str(conf), settings={'require-sigs': True})
    assert warnings == []


def test_absent_merge_in_module(capsys, conf):
    conf.write_text('trusted-users = root alice\n')
    result = run(capsys, path=str(conf), state='absent', list_mode='merge', settings={'trusted-users': ['alice']})
    assert result['changed'] and conf.read_text() == 'trusted-users = root\n'


def test_includes_are_added_last_and_removed(capsys, conf):
    args = dict(path=str(conf), includes=['/etc/nix/nixkit.d/client.conf'])
    check = run(capsys, _ansible_check_mode=True, **args)
    assert check['changed'] and check['changed_includes'] == ['/etc/nix/nixkit.d/client.conf']
    assert conf.read_text() == ORIGINAL
    assert run(capsys, **args)['changed']
    assert conf.read_text() == ORIGINAL + '!include /etc/nix/nixkit.d/client.conf\n'
    assert not run(capsys, **args)['changed']
    # A setting added later still lands above both include lines.
    run(capsys, path=str(conf), settings={'cores': 2})
    assert conf.read_text().splitlines()[-3:] == [
        'cores = 2', 'include /etc/nix/local.conf', '!include /etc/nix/nixkit.d/client.conf']
    gone = run(capsys, state='absent', **args)
    assert gone['changed'] and 'nixkit.d' not in conf.read_text()


def test_relative_include_is_refused(capsys, conf):
    result = run(capsys, path=str(conf), includes=['nixkit.d/client.conf'])
    assert result['failed'] and 'absolute path' in result['msg']
    assert conf.read_text() == ORIGINAL


def test_exclusive_drops_unnamed_settings_only(capsys, conf):
    result = run(capsys, path=str(conf), exclusive=True, settings={'cores': 1})
    assert result['changed'] and sorted(result['changed_settings']) == ['cores', 'max-jobs']
    assert conf.read_text() == '# hand-written\ncores = 1\ninclude /etc/nix/local.conf\n'


def test_exclusive_needs_state_present(capsys, conf):
    result = run(capsys, path=str(conf), exclusive=True, state='absent', settings={'cores': 1})
    assert result['failed'] and 'exclusive' in result['msg']
    assert conf.read_text() == ORIGINAL


def test_nothing_to_do_is_an_error(capsys, conf):
    result = run(capsys, path=str(conf))
    assert result['failed'] and 'settings' in result['msg'] and 'includes' in result['msg']
