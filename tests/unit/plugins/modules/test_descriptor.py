# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixkit.nix.descriptor: publish and read a host's public descriptor."""

import json

from ansible_collections.nixkit.nix.plugins.modules import descriptor

from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJkl7r6oIKCX80GFCtRm nix-daemon@c1'


def run(capsys, **args):
    return run_module(descriptor.main, capsys, **args)


def test_publish_writes_sets_the_fact_and_is_idempotent(capsys, tmp_path):
    path = str(tmp_path / 'nixkit-client.json')
    result = run(capsys, kind='client', path=path, content={'ssh_public_key': KEY})
    assert result['changed'] and result['ansible_facts'] == {'nixkit_client': {'ssh_public_key': KEY}}
    with open(path) as handle:
        assert json.load(handle) == {'ssh_public_key': KEY}
    assert oct((tmp_path / 'nixkit-client.json').stat().st_mode & 0o777) == '0o644'
    assert not run(capsys, kind='client', path=path, content={'ssh_public_key': KEY})['changed']


def test_check_mode_writes_nothing_and_shows_the_diff(capsys, tmp_path):
    path = tmp_path / 'nixkit-builder.json'
    result = run(capsys, kind='builder', path=str(path), content={'max_jobs': 2}, _ansible_check_mode=True, _ansible_diff=True)
    assert result['changed'] and not path.exists()
    assert '"max_jobs": 2' in result['diff']['after'] and result['diff']['before'] == ''


def test_a_secret_key_is_refused_and_nothing_written(capsys, tmp_path):
    path = tmp_path / 'nixkit-cache.json'
    secret = 'cache-1:' + 'A' * 86 + '=='
    result = run(capsys, kind='cache', path=str(path), content={'public_keys': [secret]})
    assert result['failed'] and 'descriptors are public' in result['msg'] and not path.exists()
    result = run(capsys, kind='client', path=str(path), content={'k': '-----BEGIN OPENSSH PRIVATE KEY-----'})
    assert result['failed'] and not path.exists()


def test_read_missing_valid_and_broken(capsys, tmp_path):
    path = tmp_path / 'nixkit-client.json'
    result = run(capsys, kind='client', state='read', path=str(path))
    assert result['descriptor'] is None and not result['changed'] and 'ansible_facts' not in result
    path.write_text('{"ssh_public_key": "k"}')
    assert run(capsys, kind='client', state='read', path=str(path))['descriptor'] == {'ssh_public_key': 'k'}
    path.write_text('{not json')
    result = run(capsys, kind='client', state='read', path=str(path))
    assert result['failed'] and 'is not valid JSON' in result['msg'] and 'run the role that writes it again' in result['msg']
