# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The nix_store_info module's own decisions, with Nix replaced by canned answers (the stderr
classification is tested in test_store_errors.py; real Nix in the molecule scenario)."""

import os
import pwd

import pytest


from ansible_collections.nixkit.nix.plugins.modules import nix_store_info
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module, use_fake_nix

HOST_KEY_UNKNOWN = "Host key verification failed.\r\nerror: failed to start SSH connection to 'b'\n"


@pytest.fixture
def nix(monkeypatch):
    """Answer each Nix call with the next (rc, stdout, stderr) in nix.answers; record the calls."""
    class Fake(object):
        answers = []
        calls = []

    def run_command(self, argv, environ_update=None, **kwargs):
        Fake.calls.append(dict(argv=argv, env=dict(environ_update),
                               cache_exists=os.path.isdir(environ_update.get('XDG_CACHE_HOME', '/nonexistent'))))
        return Fake.answers.pop(0)

    use_fake_nix(monkeypatch, nix_store_info, run_command)
    return Fake


def run(capsys, **args):
    return run_module(nix_store_info.main, capsys, **args)


@pytest.mark.parametrize('check_mode', [False, True])
def test_ssh_ng_reachable(capsys, nix, check_mode):
    nix.answers = [(0, '{"trusted":1,"url":"ssh-ng://","version":"2.26.3"}\n', '')]
    result = run(capsys, store='ssh-ng://b', timeout=7, _ansible_check_mode=check_mode)
    assert not result['changed'] and result['reachable'] and result['rc'] == 0
    assert (result['version'], result['trusted'], result['cause']) == ('2.26.3', True, None)
    assert result['url'] == 'ssh-ng://b'  # Nix 2.26 says only "ssh-ng://"
    call = nix.calls[-1]
    assert call['argv'][-5:] == ['store', 'info', '--json', '--store', 'ssh-ng://b']
    assert call['env']['NIX_SSHOPTS'] == '-o ConnectTimeout=7 -o BatchMode=yes -o UpdateHostKeys=no'


def test_nix_2_34_reports_trust_as_a_boolean(capsys, nix):
    # Nix 2.34.8 (lab variant nixsid): `nix store info --json` as root on its local store, verbatim;
    # 2.26 said "trusted":1. (The nix_store_info scenario sees false on 2.34 for an untrusted user.)
    nix.answers = [(0, '{"trusted":true,"url":"local","version":"2.34.8"}\n', '')]
    result = run(capsys, store='local', timeout=7)
    assert (result['reachable'], result['version'], result['trusted'], result['url']) == (True, '2.34.8', True, 'local')


def test_task_environment_ssh_options_come_first(capsys, nix, monkeypatch):
    # A builder on another port: Nix ignores ports in store URLs, the role passes them here.
    monkeypatch.setenv('NIX_SSHOPTS', '-p 2222 -o HostKeyAlias=b')
    nix.answers = [(0, '{"trusted":0,"url":"ssh-ng://","version":"2.26.3"}\n', '')]
    run(capsys, store='ssh-ng://b', timeout=7)
    assert nix.calls[-1]['env']['NIX_SSHOPTS'] == '-p 2222 -o HostKeyAlias=b -o ConnectTimeout=7 -o BatchMode=yes -o UpdateHostKeys=no'


def test_nix_before_2_19_answers_through_store_ping(capsys, nix):
    nix.answers = [(1, '', "error: 'info' is not a recognised command\n"),
                   (0, '{"trusted":0,"url":"ssh-ng://b","version":"2.16.2"}\n', '')]
    result = run(capsys, store='ssh-ng://b')
    assert (result['version'], result['trusted']) == ('2.16.2', False)
    assert nix.calls[-1]['argv'][-5:] == ['store', 'ping', '--json', '--store', 'ssh-ng://b']


def test_nix_before_2_14_prints_store_ping_on_stderr(capsys, nix):
    nix.answers = [(1, '', "error: 'info' is not a recognised command\n"),
                   (1, '', "error: unrecognised flag '--json'\n"),
                   (0, '', 'Store URL: ssh-ng://b\nVersion: 2.8.0\n')]
    result = run(capsys, store='ssh-ng://b')
    assert result['reachable'] and result['version'] == '2.8.0' and result['trusted'] is None
    assert nix.calls[-1]['argv'][-4:] == ['store', 'ping', '--store', 'ssh-ng://b']


def test_legacy_ssh_reports_no_version_or_trust(capsys, nix):
    nix.answers = [(0, '{"url":"ssh://b"}\n', '')]
    result = run(capsys, store='ssh://b')
    assert result['reachable'] and result['version'] is None and result['trusted'] is None
    assert result['url'] == 'ssh://b'


def test_unreachable_is_reported_not_failed(capsys, nix):
    # Nix prints the url on stdout even when it then fails.
    nix.answers = [(1, '{"url":"ssh-ng://"}\n', HOST_KEY_UNKNOWN)]
    result = run(capsys, store='ssh-ng://b')
    assert result['rc'] == 0 and not result['reachable'] and not result.get('failed')
    assert result['cause'] == 'host_key_unknown' and result['stderr'] == HOST_KEY_UNKNOWN
    me = pwd.getpwuid(os.geteuid()).pw_name
    assert result['cause_message'].startswith('%s cannot open ssh-ng://b. ' % me)
    assert result['version'] is None and result['trusted'] is None


def test_fail_on_unreachable_fails_with_the_message(capsys, nix):
    nix.answers = [(1, '', HOST_KEY_UNKNOWN)]
    result = run(capsys, store='ssh-ng://b', fail_on_unreachable=True)
    assert result['failed'] and result['rc'] == 1
    assert result['msg'] == result['cause_message'] and 'known_hosts' in result['msg']
    assert result['cause'] == 'host_key_unknown'


def test_fail_on_unreachable_passes_when_reachable(capsys, nix):
    nix.answers = [(0, '{"trusted":0,"url":"daemon","version":"2.26.3"}', '')]
    result = run(capsys, store='daemon', fail_on_unreachable=True)
    assert result['reachable'] and result['trusted'] is False and not result.get('failed')


def test_http_asks_the_server_once_with_a_private_cache(capsys, nix):
    nix.answers = [(0, '{"url":"https://cache.example.org"}', '')]
    result = run(capsys, store='https://cache.example.org', timeout=3)
    assert result['reachable']
    call = nix.calls[-1]
    assert call['cache_exists'] and not os.path.exists(call['env']['XDG_CACHE_HOME'])
    argv = ' '.join(call['argv'])
    assert '--option connect-timeout 3' in argv and '--option download-attempts 1' in argv


def test_file_store_without_cache_is_not_created(capsys, nix, tmp_path):
    missing = tmp_path / 'cache'
    result = run(capsys, store='file://%s' % missing)
    assert not result['reachable'] and result['cause'] == 'not_a_cache'
    assert nix.calls == [] and not missing.exists()
    missing.mkdir()
    (missing / 'nix-cache-info').write_text('StoreDir: /nix/store\n')
    nix.answers = [(0, '{"trusted":1,"url":"file://%s"}' % missing, '')]
    assert run(capsys, store='file://%s?compression=zstd' % missing)['reachable']


@pytest.mark.parametrize('store, says', [
    ('gopher://x', 'use daemon, local or a URL'),
    ('s3://bucket', 'use daemon, local or a URL'),
    ('builder1', 'use daemon, local or a URL'),
    ('ssh-ng://', 'names no host'),
    ('https:///path', 'names no host'),
    ('file://', 'names no directory'),
])
def test_bad_store_fails_before_running_nix(capsys, nix, store, says):
    result = run(capsys, store=store)
    assert result['failed'] and says in result['msg'] and nix.calls == []


def test_local_with_parameters_is_accepted(capsys, nix):
    nix.answers = [(0, '{"trusted":1,"url":"local","version":"2.26.3"}', '')]
    assert run(capsys, store='local?root=/tmp/r')['reachable']


def test_unknown_user_and_bad_timeout_fail(capsys, nix):
    assert 'does not exist' in run(capsys, store='daemon', user='no-such-user-x')['msg']
    assert 'at least 1 second' in run(capsys, store='daemon', timeout=0)['msg']
    assert nix.calls == []


def test_other_user_needs_root(capsys, nix, monkeypatch):
    monkeypatch.setattr(nix_store_info.os, 'geteuid', lambda: pwd.getpwnam('nobody').pw_uid)
    result = run(capsys, store='daemon', user='root')
    assert result['failed'] and 'needs root' in result['msg'] and nix.calls == []


@pytest.mark.skipif(os.geteuid() != 0, reason='runs as another user only as root')
def test_other_user_runs_through_runuser(capsys, nix):
    nix.answers = [(0, '{"trusted":0,"url":"daemon","version":"2.26.3"}', '')]
    result = run(capsys, store='daemon', user='nobody')
    assert result['user'] == 'nobody'
    argv = nix.calls[-1]['argv']
    assert os.path.basename(argv[0]) == 'runuser' and argv[1:4] == ['-u', 'nobody', '--']


KEX_RESET = ("kex_exchange_identification: read: Connection reset by peer\r\n"
             "error: failed to start SSH connection to 'b'\n")


def test_a_connection_dropped_before_the_key_exchange_is_tried_again(capsys, nix, monkeypatch):
    # sshd beyond MaxStartups: many clients at once (issue "fleet size"); it recovers in moments.
    waits = []
    monkeypatch.setattr(nix_store_info.time, 'sleep', waits.append)
    nix.answers = [(1, '', KEX_RESET), (1, '', KEX_RESET), (0, '{"trusted":0,"url":"ssh-ng://","version":"2.26.3"}\n', '')]
    result = run(capsys, store='ssh-ng://b', fail_on_unreachable=True)
    assert result['reachable'] and len(nix.calls) == 3 and waits == [1, 2] and result['attempts'] == 3


def test_a_server_that_keeps_dropping_is_reported_with_its_cause(capsys, nix, monkeypatch):
    monkeypatch.setattr(nix_store_info.time, 'sleep', lambda seconds: None)
    nix.answers = [(1, '', KEX_RESET)] * 3
    result = run(capsys, store='ssh-ng://b', retries=2, fail_on_unreachable=True)
    assert result['failed'] and result['cause'] == 'overloaded' and len(nix.calls) == 3
    assert 'MaxStartups' in result['msg'] and '(3 attempts)' in result['msg']


def test_other_failures_are_not_tried_again(capsys, nix, monkeypatch):
    monkeypatch.setattr(nix_store_info.time, 'sleep', lambda seconds: pytest.fail('no wait expected'))
    nix.answers = [(1, '', HOST_KEY_UNKNOWN)]
    assert run(capsys, store='ssh-ng://b')['cause'] == 'host_key_unknown' and len(nix.calls) == 1
