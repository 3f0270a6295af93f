# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The nix_sign module's decisions, with Nix replaced by a small fake store that answers
`nix path-info --json` as Nix 2.26 does (parsing is tested in test_path_info.py; real Nix in the
molecule scenario)."""

import base64
import json
import os

import pytest


from ansible_collections.nixkit.nix.plugins.module_utils import _sign
from ansible_collections.nixkit.nix.plugins.modules import nix_sign
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module, use_fake_nix

TOP = '/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top'
DEP = '/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep'
OTHER = '/nix/store/1dg13jg47yxfpmkvhlmmla156cdx1bgc-subst-probe'
NOPE = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nope'
NAME = 'cache.example.org-1'
SECRET = base64.b64encode(os.urandom(64)).decode()


class FakeStore(object):
    """Paths -> signatures and references; records every Nix command."""

    def __init__(self):
        self.sigs = {TOP: [], DEP: [], OTHER: ['other-key-1:c2ln']}
        self.refs = {TOP: [DEP], DEP: [], OTHER: []}
        self.calls = []
        self.sign_answer = None  # (rc, stdout, stderr) instead of signing
        self.forget_signing = False  # sign succeeds but adds nothing

    def closure(self, paths):
        todo, seen = list(paths), []
        while todo:
            path = todo.pop()
            if path not in seen:
                seen.append(path)
                todo.extend(self.refs.get(path, []))
        return seen

    def __call__(self, argv, data=None, **kwargs):  # set on the class but not bound: no module argument
        args = argv[argv.index('nix-command') + 1:]
        self.calls.append(args)
        paths = [a for a in args if a.startswith('/nix/store/')]
        if args[0] == 'path-info':
            if '--recursive' in args:
                missing = [p for p in paths if p not in self.sigs]
                if missing:
                    return 1, '', "error: path '%s' is not valid\n" % missing[0]
                paths = self.closure(paths)
            if '--all' in args:
                paths = list(self.sigs)
            info = {}
            for path in paths:
                info[path] = None if path not in self.sigs else dict(
                    narSize=100, references=self.refs[path], signatures=list(self.sigs[path]))
            return 0, json.dumps(info) + '\n', ''
        if args[:2] == ['store', 'sign']:
            if self.sign_answer:
                return self.sign_answer
            key_file = args[args.index('--key-file') + 1]
            name = open(key_file).read().partition(':')[0]
            for path in paths:
                if not self.forget_signing:
                    self.sigs[path].append('%s:%s' % (name, base64.b64encode(path.encode()).decode()))
            return 0, '', 'added %d signatures\n' % len(paths)
        if args[:2] == ['store', 'verify']:
            keys = args[args.index('trusted-public-keys') + 1].split()
            names = [k.partition(':')[0] for k in keys]
            bad = [p for p in paths if not any(sig.partition(':')[0] in names for sig in self.sigs[p])]
            return (1 if bad else 0), '', ''.join("path '%s' is untrusted\n" % p for p in bad)
        raise AssertionError('unexpected nix call %r' % args)

    def signs(self):
        return [call for call in self.calls if call[:2] == ['store', 'sign']]


@pytest.fixture
def store(monkeypatch):
    fake = FakeStore()
    use_fake_nix(monkeypatch, nix_sign, fake)
    return fake


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / 'key.sec'
    path.write_text('%s:%s' % (NAME, SECRET))
    return str(path)


def run(capsys, **args):
    return run_module(nix_sign.main, capsys, **args)


def test_check_real_check_real(capsys, store, key_file):
    args = dict(paths=[TOP], key_file=key_file)
    first = run(capsys, _ansible_check_mode=True, **args)
    assert first['changed'] and first['signed'] == [TOP] and first['already_signed'] == []
    assert first['paths'] == [TOP] and first['key_name'] == NAME
    assert store.signs() == [] and store.sigs[TOP] == []
    real = run(capsys, **args)
    assert real['changed'] and real['signed'] == [TOP] and real['already_signed'] == []
    assert store.signs() == [['store', 'sign', '--key-file', key_file, TOP]]
    assert [s.partition(':')[0] for s in store.sigs[TOP]] == [NAME] and store.sigs[DEP] == []
    check = run(capsys, _ansible_check_mode=True, **args)
    again = run(capsys, **args)
    for result in (check, again):
        assert not result['changed'] and result['signed'] == [] and result['already_signed'] == [TOP]
    assert len(store.signs()) == 1
    assert all(SECRET not in r['raw'] for r in (first, real, check, again))


def test_path_info_is_read_only_and_reread_after_signing(capsys, store, key_file):
    run(capsys, paths=[TOP], key_file=key_file)
    reads = [call for call in store.calls if call[0] == 'path-info']
    assert len(reads) == 2
    assert all(call[1:5] == ['--json', '--option', 'substitute', 'false'] for call in reads)


def test_recursive_signs_only_what_lacks_a_signature(capsys, store, key_file):
    run(capsys, paths=[TOP], key_file=key_file)
    result = run(capsys, paths=[TOP], key_file=key_file, recursive=True)
    assert result['changed'] and result['signed'] == [DEP] and result['already_signed'] == [TOP]
    assert result['paths'] == sorted([TOP, DEP])
    assert store.signs()[-1] == ['store', 'sign', '--key-file', key_file, DEP]
    assert '--recursive' in [call for call in store.calls if call[0] == 'path-info'][-2]
    again = run(capsys, paths=[TOP], key_file=key_file, recursive=True)
    assert not again['changed'] and again['already_signed'] == sorted([TOP, DEP])


def test_other_keys_signatures_do_not_count(capsys, store, key_file):
    store.sigs[TOP] = ['%s0:AAAA' % NAME, 'x-%s:AAAA' % NAME]
    result = run(capsys, paths=[TOP, OTHER, TOP], key_file=key_file)
    assert result['changed'] and result['signed'] == sorted([TOP, OTHER]) and result['paths'] == sorted([TOP, OTHER])
    assert store.signs() == [['store', 'sign', '--key-file', key_file] + sorted([TOP, OTHER])]


def test_store_is_passed_to_every_command(capsys, store, key_file):
    run(capsys, paths=[TOP], key_file=key_file, store='ssh-ng://cache1')
    assert len(store.calls) == 3
    for call in store.calls:
        assert call[call.index('--store') + 1] == 'ssh-ng://cache1'


def test_many_paths_are_signed_in_chunks(capsys, store, key_file, monkeypatch):
    monkeypatch.setattr(_sign, 'CHUNK', 2)
    paths = ['/nix/store/%032d-p%d' % (i, i) for i in range(5)]
    for path in paths:
        store.sigs[path], store.refs[path] = [], []
    result = run(capsys, paths=paths, key_file=key_file)
    assert result['signed'] == sorted(paths)
    assert [len(call) - 4 for call in store.signs()] == [2, 2, 1]


@pytest.mark.parametrize('recursive', [False, True])
def test_path_not_in_the_store_fails_naming_it(capsys, store, key_file, recursive):
    result = run(capsys, paths=[TOP, NOPE], key_file=key_file, recursive=recursive)
    assert result['failed'] and NOPE in result['msg'] and 'not in the store' in result['msg']
    assert TOP not in result['msg'] and store.signs() == [] and store.sigs[TOP] == []


@pytest.mark.parametrize('path', ['/nix/store/not-a-hash', TOP + '/bin/hello', './result'])
def test_malformed_path_fails_before_nix_runs(capsys, store, key_file, path):
    result = run(capsys, paths=[TOP, path], key_file=key_file)
    assert result['failed'] and repr(path) in result['msg'] and 'not a store path' in result['msg']
    assert store.calls == []


@pytest.mark.parametrize('content, says', [
    ('%s:%s' % (NAME, base64.b64encode(b'p' * 32).decode()), 'holds a public key'),
    ('%s:%s' % (NAME, SECRET[:-8]), 'not a Nix secret signing key'),
    ('-----BEGIN OPENSSH PRIVATE KEY-----\nsecretstuff\n', 'not a Nix secret signing key'),
    ('', 'not a Nix secret signing key'),
])
def test_key_file_that_is_no_secret_key_fails_without_showing_it(capsys, store, tmp_path, content, says):
    path = tmp_path / 'not-a-key'
    path.write_text(content)
    result = run(capsys, paths=[TOP], key_file=str(path))
    assert result['failed'] and says in result['msg'] and str(path) in result['msg']
    assert store.calls == []
    for part in (content.partition(':')[2] or content).split():
        assert part not in result['raw']


def test_missing_key_file(capsys, store, tmp_path):
    result = run(capsys, paths=[TOP], key_file=str(tmp_path / 'nope.sec'))
    assert result['failed'] and 'cannot read key_file' in result['msg'] and 'No such file' in result['msg']
    result = run(capsys, paths=[TOP], key_file=str(tmp_path))
    assert result['failed'] and 'is a directory' in result['msg']


def test_sign_failure_is_reported(capsys, store, key_file):
    store.sign_answer = (1, '', 'error: you are not privileged to add signatures\n')
    result = run(capsys, paths=[TOP], key_file=key_file)
    assert result['failed'] and 'not privileged to add signatures' in result['msg']
    assert SECRET not in result['raw']


def test_signing_that_adds_nothing_fails(capsys, store, key_file):
    store.forget_signing = True
    result = run(capsys, paths=[TOP], key_file=key_file)
    assert result['failed'] and 'carry no signature by %s: %s' % (NAME, TOP) in result['msg']


def test_nix_failure_that_names_no_path(capsys, store, key_file, monkeypatch):
    monkeypatch.setattr(nix_sign.AnsibleModule, 'run_command', lambda *a, **k: (1, '', 'error: cannot connect to socket\n'))
    result = run(capsys, paths=[TOP], key_file=key_file)
    assert result['failed'] and result['msg'] == 'nix path-info failed: error: cannot connect to socket'


def test_file_store_must_be_a_cache(capsys, store, key_file, tmp_path):
    cache = tmp_path / 'cache'
    result = run(capsys, paths=[TOP], key_file=key_file, store='file://%s' % cache)
    assert result['failed'] and 'not a binary cache' in result['msg'] and store.calls == []
    assert not cache.exists()
    cache.mkdir()
    (cache / 'nix-cache-info').write_text('StoreDir: /nix/store\n')
    result = run(capsys, paths=[TOP], key_file=key_file, store='file://%s?compression=zstd' % cache)
    assert result['changed'] and result['signed'] == [TOP]


def test_no_paths_is_not_a_change(capsys, store, key_file):
    result = run(capsys, paths=[], key_file=key_file)
    assert not result['changed'] and result['signed'] == [] and result['key_name'] == NAME and store.calls == []


def test_all_signs_every_unsigned_path_of_the_store(capsys, store, key_file):
    check = run(capsys, all=True, key_file=key_file, _ansible_check_mode=True)
    assert check['changed'] and check['signed'] == sorted([TOP, DEP, OTHER]) and store.signs() == []
    result = run(capsys, all=True, key_file=key_file)
    assert result['changed'] and result['signed'] == sorted([TOP, DEP, OTHER])
    assert result['paths'] == [] and result['already_signed'] == []
    assert '--all' in store.calls[0]
    assert not run(capsys, all=True, key_file=key_file)['changed']


@pytest.mark.parametrize('args', [dict(), dict(all=True, paths=[TOP])])
def test_paths_or_all_exactly_one(capsys, store, key_file, args):
    result = run(capsys, key_file=key_file, **args)
    assert result['failed'] and 'either paths' in result['msg'] and store.calls == []


WRITER = 'writer-1:' + base64.b64encode(os.urandom(32)).decode()


def test_verified_by_signs_only_what_a_trusted_key_signed(capsys, store, key_file):
    # The laundering case: OTHER arrived with a foreign signature only; DEP was uploaded signed by a writer.
    store.sigs[DEP] = ['writer-1:c2ln']
    result = run(capsys, all=True, key_file=key_file, verified_by=[WRITER])
    assert result['signed'] == [DEP] and result['unverified'] == [OTHER, TOP]
    assert [s.partition(':')[0] for s in store.sigs[OTHER]] == ['other-key-1']
    again = run(capsys, all=True, key_file=key_file, verified_by=[WRITER])
    assert not again['changed'] and again['unverified'] == [OTHER, TOP]


def test_verified_by_refuses_what_is_not_a_public_key(capsys, store, key_file):
    result = run(capsys, all=True, key_file=key_file, verified_by=['writer-1:short'])
    assert result['failed'] and 'verified_by takes public keys' in result['msg'] and store.signs() == []
