# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run nix_signing_key in-process on real files, with `nix key` replaced by a stand-in that keeps
libsodium's layout (the public key is the second half of the secret key)."""

import base64
import grp
import os
import pwd
import stat

import pytest


from ansible_collections.nixkit.nix.plugins.module_utils import _signing_key
from ansible_collections.nixkit.nix.plugins.module_utils._signing_key import SigningKeyError, parse_key
from ansible_collections.nixkit.nix.plugins.modules import nix_signing_key
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module, use_fake_nix

NAME = 'cache.example.org-1'
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def b64(raw):
    return base64.b64encode(raw).decode()


class FakeNix(object):
    def __init__(self):
        self.calls = []
        self.fail = False

    def __call__(self, argv, data=None, **kwargs):  # set on the class but not bound: no module argument
        command = argv[argv.index('key') + 1]
        self.calls.append(command)
        if self.fail:
            return 1, '', 'error: key is corrupt'
        if command == 'generate-secret':
            return 0, '%s:%s' % (argv[-1], b64(os.urandom(64))), ''
        name, data_b64 = data.decode().split(':', 1)
        return 0, '%s:%s\n' % (name, b64(base64.b64decode(data_b64)[32:])), ''


@pytest.fixture
def nix(monkeypatch):
    fake = FakeNix()
    use_fake_nix(monkeypatch, nix_signing_key, fake)
    return fake


@pytest.fixture
def paths(tmp_path):
    return dict(secret_path=str(tmp_path / 'key.sec'), public_path=str(tmp_path / 'key.pub'))


def run(capsys, **args):
    args.setdefault('owner', ME)
    args.setdefault('group', MY_GROUP)
    return run_module(nix_signing_key.main, capsys, **args)


def contents(paths):
    return {key: open(path).read() for key, path in paths.items()}


def test_parse_key():
    assert parse_key('a.b-1:%s\n' % b64(b'x' * 32), 32) == ('a.b-1', b64(b'x' * 32))
    for text, says in (('no-colon', 'NAME:BASE64'), ('bad name:AAAA', 'NAME:BASE64'),
                       ('k-1:not base64!', 'not base64'), ('k-1:%s' % b64(b'x' * 64), '64 bytes long, not 32')):
        with pytest.raises(SigningKeyError, match=says):
            parse_key(text, 32)


def test_check_real_check_real(capsys, nix, paths):
    args = dict(name=NAME, **paths)
    first = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **args)
    assert first['changed'] and first['would_generate'] and first['public_key'] is None
    assert 'generated on the real run' in first['diff']['after']
    assert not os.path.exists(paths['secret_path']) and nix.calls == []
    real = run(capsys, _ansible_diff=True, **args)
    assert real['changed'] and real['public_key'].startswith(NAME + ':')
    assert real['diff']['after'] == real['public_key'] + '\n'
    assert stat.S_IMODE(os.stat(paths['secret_path']).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(paths['public_path']).st_mode) == 0o644
    assert open(paths['public_path']).read() == real['public_key']
    check = run(capsys, _ansible_check_mode=True, **args)
    assert not check['changed'] and not check['would_generate'] and check['public_key'] == real['public_key']
    again = run(capsys, _ansible_diff=True, **args)
    assert not again['changed'] and again['public_key'] == real['public_key']
    secret = open(paths['secret_path']).read().partition(':')[2]
    assert all(secret not in r['raw'] for r in (first, real, check, again))


def test_secret_has_its_mode_before_its_content(monkeypatch, tmp_path):
    modes = []
    real_fdopen = os.fdopen

    def spy(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        real_write = handle.write
        handle.write = lambda data: modes.append(stat.S_IMODE(os.fstat(fd).st_mode)) or real_write(data)
        return handle

    monkeypatch.setattr(_signing_key.os, 'fdopen', spy)
    os.umask(0o000)
    try:
        _signing_key.write_file(str(tmp_path / 's'), b'secret', 0o600)
    finally:
        os.umask(0o022)
    assert modes == [0o600] and stat.S_IMODE(os.stat(str(tmp_path / 's')).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ['s']


def test_other_name_is_refused_then_forced(capsys, nix, paths):
    original = run(capsys, name=NAME, **paths)['public_key']
    before = contents(paths)
    refused = run(capsys, name='cache.example.org-2', **paths)
    assert refused['failed'] and 'holds the key %s' % NAME in refused['msg'] and 'rotate' in refused['msg']
    assert 'force=true' in refused['msg'] and contents(paths) == before
    forced = run(capsys, name='cache.example.org-2', force=True, **paths)
    assert forced['changed'] and forced['public_key'].startswith('cache.example.org-2:')
    assert forced['public_key'] != original and contents(paths) != before
    assert before['secret_path'].partition(':')[2] not in refused['raw'] + forced['raw']


def test_mismatched_public_is_refused_until_removed(capsys, nix, paths):
    good = run(capsys, name=NAME, **paths)['public_key']
    stale = '%s:%s' % (NAME, b64(b'y' * 32))
    with open(paths['public_path'], 'w') as handle:
        handle.write(stale)
    before = contents(paths)
    check = run(capsys, _ansible_check_mode=True, name=NAME, **paths)
    refused = run(capsys, name=NAME, **paths)
    for result in (check, refused):
        assert result['failed'] and 'does not hold the public key' in result['msg'] and good in result['msg']
        assert 'remove %s' % paths['public_path'] in result['msg'] and 'force=true' in result['msg']
    assert contents(paths) == before
    os.unlink(paths['public_path'])
    rewritten = run(capsys, name=NAME, **paths)
    assert rewritten['changed'] and rewritten['public_key'] == good
    assert contents(paths) == dict(before, public_path=good)


def test_public_without_secret_is_refused(capsys, nix, paths):
    with open(paths['public_path'], 'w') as handle:
        handle.write('%s:%s' % (NAME, b64(b'y' * 32)))
    refused = run(capsys, name=NAME, **paths)
    assert refused['failed'] and 'does not:' in refused['msg'] and not os.path.exists(paths['secret_path'])


def test_garbage_secret_is_refused_without_quoting_it(capsys, nix, paths):
    with open(paths['secret_path'], 'w') as handle:
        handle.write('hunter2-not-a-key')
    refused = run(capsys, name=NAME, **paths)
    assert refused['failed'] and 'is not a Nix secret signing key' in refused['msg']
    assert 'hunter2' not in refused['raw'] and open(paths['secret_path']).read() == 'hunter2-not-a-key'


@pytest.mark.parametrize('name', ['a:b', 'two words', '', 'x/y'])
def test_bad_name_fails_before_anything(capsys, nix, paths, name):
    result = run(capsys, name=name, **paths)
    assert result['failed'] and 'letters, digits' in result['msg']
    assert nix.calls == [] and not os.path.exists(paths['secret_path'])


def test_loose_mode_is_tightened(capsys, nix, paths):
    run(capsys, name=NAME, **paths)
    os.chmod(paths['secret_path'], 0o644)
    assert run(capsys, _ansible_check_mode=True, name=NAME, **paths)['changed']
    assert stat.S_IMODE(os.stat(paths['secret_path']).st_mode) == 0o644
    assert run(capsys, name=NAME, **paths)['changed']
    assert stat.S_IMODE(os.stat(paths['secret_path']).st_mode) == 0o600


def test_unknown_owner_is_a_change_in_check_mode_only(capsys, nix, paths):
    check = run(capsys, _ansible_check_mode=True, name=NAME, owner='no-such-user-x', **paths)
    assert check['changed'] and not check.get('failed')
    real = run(capsys, name=NAME, owner='no-such-user-x', **paths)
    assert real['failed'] and 'does not exist' in real['msg'] and not os.path.exists(paths['secret_path'])


def test_missing_directory(capsys, nix, tmp_path):
    paths = dict(secret_path=str(tmp_path / 'keys' / 'k.sec'), public_path=str(tmp_path / 'keys' / 'k.pub'))
    assert run(capsys, _ansible_check_mode=True, name=NAME, **paths)['would_generate']
    failed = run(capsys, name=NAME, **paths)
    assert failed['failed'] and 'create it first' in failed['msg'] and nix.calls == []


def test_nix_failure_is_reported(capsys, nix, paths):
    nix.fail = True
    result = run(capsys, name=NAME, **paths)
    assert result['failed'] and 'key is corrupt' in result['msg'] and not os.path.exists(paths['secret_path'])


def test_same_path_twice_fails(capsys, nix, paths):
    result = run(capsys, name=NAME, secret_path=paths['secret_path'], public_path=paths['secret_path'])
    assert result['failed'] and 'different files' in result['msg']


def test_absent(capsys, nix, paths):
    run(capsys, name=NAME, **paths)
    before = contents(paths)
    refused = run(capsys, state='absent', name='other-1', **paths)
    assert refused['failed'] and 'nothing was removed' in refused['msg'] and contents(paths) == before
    check = run(capsys, _ansible_check_mode=True, _ansible_diff=True, state='absent', name=NAME, **paths)
    assert check['changed'] and contents(paths) == before and check['diff']['after'] == ''
    assert run(capsys, state='absent', **paths)['changed']
    assert not any(os.path.exists(p) for p in paths.values())
    assert not run(capsys, state='absent', **paths)['changed']


def test_exclusive_write_keeps_the_key_another_run_wrote_first(tmp_path):
    from ansible_collections.nixkit.nix.plugins.module_utils._signing_key import write_file
    path = tmp_path / 'deploy.sec'
    assert write_file(str(path), b'first', 0o600, exclusive=True)
    assert not write_file(str(path), b'second', 0o600, exclusive=True)
    assert path.read_bytes() == b'first' and oct(path.stat().st_mode & 0o777) == '0o600'
    assert [p.name for p in tmp_path.iterdir()] == ['deploy.sec']
