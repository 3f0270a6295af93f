# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The nix_copy module's own decisions, with Nix replaced by a fake source and destination store
(the parsing is tested in test_copy.py; real Nix in the molecule scenario)."""

import base64
import json

import pytest

from ansible_collections.nixkit.nix.plugins.modules import nix_copy
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module, use_fake_nix

TOP = '/nix/store/h9pyfxmqkw83pighm3clg0amp4ahn3bh-top'
MID = '/nix/store/is3kci1r8j5c92g7pijhq53233f96ghv-mid'
LEAF = '/nix/store/zpmhsiahi5swypypj9nmxka4hi1az9v1-leaf'
NOPE = '/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-nope'
SIZES = {TOP: 384, MID: 336, LEAF: 200472}
REFS = {TOP: [MID, LEAF], MID: [LEAF], LEAF: []}
HOST_KEY_UNKNOWN = "Host key verification failed.\r\nerror: failed to start SSH connection to 'dst'\n"


@pytest.fixture
def nix(monkeypatch):
    """Stores as sets of valid paths; each call is answered from them and recorded."""
    class Fake(object):
        source = {TOP, MID, LEAF}
        destination = set()
        calls = []
        copy_answer = None      # (rc, stdout, stderr) instead of copying
        copy_lands = None       # with copy_answer: the paths that arrive anyway
        destination_error = None
        source_error = None
        sigs = {}
        sign_answer = None      # (rc, stdout, stderr) instead of signing

        @classmethod
        def kinds(cls):
            return [c['kind'] for c in cls.calls]

    def closure(paths):
        seen, todo = set(), list(paths)
        while todo:
            path = todo.pop()
            if path not in seen:
                seen.add(path)
                todo += REFS[path]
        return seen

    def run_command(self, argv, environ_update=None, data=None, **kwargs):
        tool = argv[0].rsplit('/', 1)[-1]
        args = argv[3:] if tool == 'nix' else argv[1:]
        stdin = [line for line in (data or '').splitlines() if line]
        if tool == 'nix-store':
            kind = 'validity'
        elif args[0] == 'copy':
            kind = 'copy'
        elif args[:2] == ['store', 'sign']:
            kind = 'sign'
        else:
            kind = 'closure' if '--recursive' in args else 'tops'
        Fake.calls.append(dict(kind=kind, argv=argv, args=args, env=dict(environ_update or {}), stdin=stdin))
        if kind == 'validity':
            if Fake.destination_error:
                return 1, '', Fake.destination_error
            return 0, ''.join(p + '\n' for p in args if p.startswith('/nix/store/') and p not in Fake.destination), ''
        if kind == 'sign':
            if Fake.sign_answer:
                return Fake.sign_answer
            name = open(args[args.index('--key-file') + 1]).read().partition(':')[0]
            for path in args[args.index('--key-file') + 2:]:
                Fake.sigs.setdefault(path, []).append(name + ':sig')
            return 0, '', ''
        if kind == 'copy':
            if Fake.copy_answer:
                Fake.destination |= set(Fake.copy_lands or ())
                return Fake.copy_answer
            Fake.destination |= closure(stdin)
            return 0, '', ''
        if Fake.source_error:
            return 1, '', Fake.source_error
        missing = [p for p in stdin if p not in Fake.source]
        if kind == 'tops':
            return 0, json.dumps(dict((p, None if p in missing else {'narSize': SIZES[p]}) for p in stdin)), ''
        if missing:
            return 1, '', "don't know how to build these paths:\nerror: path '%s' is not valid\n" % missing[0]
        return 0, json.dumps(dict((p, {'narSize': SIZES[p], 'references': REFS[p], 'signatures': Fake.sigs.get(p, [])})
                                  for p in closure(stdin))), ''

    use_fake_nix(monkeypatch, nix_copy, run_command)
    Fake.calls, Fake.sigs = [], {}
    return Fake


def run(capsys, **args):
    return run_module(nix_copy.main, capsys, **args)


def test_check_mode_reports_and_copies_nothing(capsys, nix):
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst', _ansible_check_mode=True)
    assert result['changed'] and result['rc'] == 0
    assert result['copied'] == sorted([TOP, MID, LEAF]) and result['bytes'] == 201192
    assert result['already_present'] == 0
    assert nix.kinds() == ['closure', 'validity'] and nix.destination == set()


def test_copies_only_the_missing_paths(capsys, nix):
    nix.destination = {LEAF}
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst', timeout=4)
    assert result['changed'] and result['copied'] == [TOP, MID] and result['bytes'] == 720
    assert result['already_present'] == 1 and nix.destination == {TOP, MID, LEAF}
    closure, validity, copy = nix.calls
    assert closure['args'] == ['path-info', '--recursive', '--json', '--stdin'] and closure['stdin'] == [TOP]
    assert validity['argv'] == ['/usr/bin/nix-store', '--store', 'ssh-ng://root@dst', '--check-validity',
                                '--print-invalid', TOP, MID, LEAF]
    assert copy['args'] == ['copy', '--stdin', '--to', 'ssh-ng://root@dst'] and copy['stdin'] == [TOP, MID]
    for call in nix.calls:
        assert call['env']['NIX_SSHOPTS'] == '-o ConnectTimeout=4 -o BatchMode=yes -o UpdateHostKeys=no'


@pytest.mark.parametrize('check_mode', [False, True])
def test_nothing_missing_is_not_changed(capsys, nix, check_mode):
    nix.destination = {TOP, MID, LEAF}
    result = run(capsys, paths=[TOP, MID], to='ssh://root@dst', _ansible_check_mode=check_mode)
    assert not result['changed'] and result['copied'] == [] and result['bytes'] == 0
    assert result['already_present'] == 3 and 'copy' not in nix.kinds()


def test_path_not_in_the_source_is_named_and_nothing_happens(capsys, nix):
    other = '/nix/store/yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy-other'
    result = run(capsys, paths=[TOP, NOPE, other], to='ssh-ng://root@dst')
    assert result['failed'] and not result.get('changed')
    assert result['missing'] == sorted([NOPE, other])
    assert result['msg'] == 'not in the local store (nothing is built or fetched): %s, %s' % tuple(sorted([NOPE, other]))
    assert nix.kinds() == ['closure', 'tops']


def test_remote_source_is_named(capsys, nix):
    result = run(capsys, paths=[NOPE], **{'from': 'ssh://cache', 'to': 'ssh-ng://root@dst'})
    assert result['msg'].startswith('not in the source store ssh://cache ')
    assert nix.calls[0]['args'][-2:] == ['--store', 'ssh://cache']


def test_unreachable_destination_fails_with_the_cause(capsys, nix):
    nix.destination_error = HOST_KEY_UNKNOWN
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst')
    assert result['failed'] and result['cause'] == 'host_key_unknown' and not result.get('changed')
    assert 'cannot open ssh-ng://root@dst. ' in result['msg'] and 'known_hosts' in result['msg']
    assert result['stderr'] == HOST_KEY_UNKNOWN and 'copy' not in nix.kinds()


def test_unsigned_paths_refused_with_nix_words_and_a_hint(capsys, nix):
    nix.copy_answer = (1, '', "copying 3 paths...\nerror: cannot add path '%s' because it lacks a signature by "
                              "a trusted key\n" % LEAF)
    result = run(capsys, paths=[TOP], to='ssh-ng://alice@dst')
    assert result['failed'] and result['cause'] == 'signature' and not result['changed']
    assert result['msg'].startswith("ssh-ng://alice@dst refused the copy. Nix says: cannot add path '%s' because it "
                                    "lacks a signature by a trusted key. " % LEAF)
    assert 'nixkit.nix.nix_sign' in result['msg'] and 'trusted-public-keys' in result['msg']
    assert result['copied'] == [] and result['bytes'] == 0 and result['already_present'] == 0
    assert nix.kinds() == ['closure', 'validity', 'copy', 'validity']


def test_a_failed_copy_reports_what_arrived(capsys, nix):
    nix.copy_answer = (1, '', "error: writing to file: Broken pipe\n")
    nix.copy_lands = {LEAF}
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst')
    assert result['failed'] and result['changed'] and result['cause'] == 'other'
    assert result['copied'] == [LEAF] and result['bytes'] == 200472
    assert result['msg'] == 'nix copy to ssh-ng://root@dst failed: error: writing to file: Broken pipe'


def test_a_copy_that_loses_the_connection_says_why(capsys, nix):
    nix.copy_answer = (1, '', "ssh: connect to host dst port 22: Connection refused\r\nerror: failed to start "
                              "SSH connection to 'dst'\n")
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst')
    assert result['cause'] == 'unreachable' and 'Nothing answered' in result['msg']


def test_check_sigs_false_warns_and_passes_the_flag(capsys, nix, monkeypatch):
    warnings = []
    monkeypatch.setattr(nix_copy.AnsibleModule, 'warn', lambda self, msg, **kw: warnings.append(msg))
    run(capsys, paths=[TOP], to='ssh-ng://root@dst')
    assert warnings == []
    nix.destination = set()
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst', check_sigs=False, substitute_on_destination=True)
    assert result['changed']
    assert len(warnings) == 1 and 'check_sigs=false' in warnings[0] and 'nixkit.nix.nix_sign' in warnings[0]
    assert nix.calls[-1]['args'] == ['copy', '--stdin', '--to', 'ssh-ng://root@dst',
                                     '--substitute-on-destination', '--no-check-sigs']


def test_file_destination_that_is_not_a_cache_yet_is_not_asked(capsys, nix, tmp_path):
    cache = tmp_path / 'cache'
    result = run(capsys, paths=[TOP], to='file://%s' % cache, _ansible_check_mode=True)
    assert result['changed'] and result['copied'] == sorted([TOP, MID, LEAF])
    assert nix.kinds() == ['closure'] and not cache.exists()
    cache.mkdir()
    (cache / 'nix-cache-info').write_text('StoreDir: /nix/store\n')
    run(capsys, paths=[TOP], to='file://%s' % cache)
    assert nix.kinds()[1:] == ['closure', 'validity', 'copy']


def test_file_source_must_be_a_cache(capsys, nix, tmp_path):
    result = run(capsys, paths=[TOP], **{'from': 'file://%s' % tmp_path})
    assert result['failed'] and 'is not a binary cache' in result['msg'] and nix.calls == []
    assert not (tmp_path / 'nix-cache-info').exists()


def test_http_source_gets_the_timeout(capsys, nix):
    run(capsys, paths=[TOP], timeout=3, **{'from': 'https://cache.example.org'})
    assert nix.calls[0]['env']['NIX_CONFIG'] == 'connect-timeout = 3'
    assert nix.calls[-1]['args'] == ['copy', '--stdin', '--from', 'https://cache.example.org']


def test_local_destination_has_no_store_argument(capsys, nix):
    run(capsys, paths=[TOP], **{'from': 'ssh-ng://src'})
    assert nix.calls[1]['argv'][:3] == ['/usr/bin/nix-store', '--check-validity', '--print-invalid']


def test_long_closures_are_asked_in_chunks(capsys, nix, monkeypatch):
    monkeypatch.setattr(nix_copy, 'chunks', lambda items: [[p] for p in items])
    nix.destination = {MID}
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst', _ansible_check_mode=True)
    assert nix.kinds() == ['closure', 'validity', 'validity', 'validity'] and result['copied'] == [TOP, LEAF]


@pytest.mark.parametrize('args, says', [
    (dict(paths=[]), 'paths is empty'),
    (dict(paths=[TOP + '/bin/x']), 'not store paths'),
    (dict(paths=[TOP], to='https://cache.example.org'), 'cannot write to an HTTP binary cache'),
    (dict(paths=[TOP], to='ssh-ng://'), 'names no host'),
    (dict(paths=[TOP], timeout=0), 'at least 1 second'),
    (dict(paths=[TOP], to='file:///var/cache/x', substitute_on_destination=True), 'works only with ssh://'),
    (dict(paths=[TOP], substitute_on_destination=True), 'not the local store'),
    (dict(paths=[TOP], **{'from': 'gopher://x'}), 'from='),
])
def test_bad_input_fails_before_running_nix(capsys, nix, args, says):
    result = run(capsys, **args)
    assert result['failed'] and says in result['msg'] and nix.calls == []


def test_other_source_errors_quote_nix(capsys, nix):
    # What Nix 2.26 says for a file inside a result symlink.
    nix.source_error = "error: path '/root/result/deps' is not a flake (because it's not a directory)\n"
    result = run(capsys, paths=['/root/result/deps'])
    assert result['failed'] and result['cause'] == 'other' and nix.kinds() == ['closure']
    assert result['msg'] == ("nix path-info on the local store failed: error: path '/root/result/deps' is not a "
                             "flake (because it's not a directory)")


def test_other_destination_errors_quote_nix(capsys, nix):
    nix.destination_error = "error: opening lock file '/nix/var/nix/db/big-lock': Read-only file system\n"
    result = run(capsys, paths=[TOP], to='local?root=/mnt')
    assert result['failed'] and result['cause'] == 'other'
    assert result['msg'] == ("nix-store --check-validity on local?root=/mnt failed: error: opening lock file "
                             "'/nix/var/nix/db/big-lock': Read-only file system")


# --- sign_with: what is copied is signed first, in the same run ----------------------------------

KEY_SECRET = base64.b64encode(b'k' * 64).decode()


@pytest.fixture
def deploy_key(tmp_path):
    path = tmp_path / 'deploy.sec'
    path.write_text('build1-deploy-1:' + KEY_SECRET)
    return str(path)


def test_sign_with_signs_exactly_what_the_destination_lacks(capsys, nix, deploy_key):
    nix.destination = {LEAF}
    nix.sigs = {MID: ['build1-deploy-1:old']}
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst', sign_with=deploy_key)
    assert result['changed'] and result['copied'] == [TOP, MID] and result['signed'] == [TOP]
    assert result['key_name'] == 'build1-deploy-1' and KEY_SECRET not in json.dumps(result)
    assert nix.kinds() == ['closure', 'validity', 'sign', 'copy']
    assert nix.calls[2]['args'] == ['store', 'sign', '--key-file', deploy_key, TOP]
    assert nix.sigs[TOP] == ['build1-deploy-1:sig'] and LEAF not in nix.sigs


def test_sign_with_in_check_mode_and_with_nothing_missing_signs_nothing(capsys, nix, deploy_key):
    predicted = run(capsys, paths=[TOP], to='ssh-ng://root@dst', sign_with=deploy_key, _ansible_check_mode=True)
    assert predicted['changed'] and predicted['signed'] == sorted([LEAF, MID, TOP]) and 'sign' not in nix.kinds()
    nix.destination = {TOP, MID, LEAF}
    idle = run(capsys, paths=[TOP], to='ssh-ng://root@dst', sign_with=deploy_key)
    assert not idle['changed'] and idle['signed'] == [] and 'sign' not in nix.kinds()


def test_a_bad_key_stops_before_any_store_is_asked(capsys, nix, tmp_path):
    public = tmp_path / 'deploy.pub'
    public.write_text('build1-deploy-1:' + base64.b64encode(b'p' * 32).decode())
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst', sign_with=str(public))
    assert result['failed'] and result['msg'].startswith('sign_with %s holds a public key' % public)
    missing = run(capsys, paths=[TOP], to='ssh-ng://root@dst', sign_with=str(tmp_path / 'none.sec'))
    assert missing['failed'] and missing['msg'].startswith('cannot read sign_with %s' % (tmp_path / 'none.sec'))
    assert nix.calls == []


def test_a_failed_signing_copies_nothing(capsys, nix, deploy_key):
    nix.sign_answer = (1, '', "error: opening file '/etc/nix/nixkit-deploy/deploy.sec': Permission denied\n")
    result = run(capsys, paths=[TOP], to='ssh-ng://root@dst', sign_with=deploy_key)
    assert result['failed'] and result['msg'].startswith('nix store sign failed: error: opening file')
    assert 'copy' not in nix.kinds() and nix.destination == set()
