# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nix_copy's pure decisions, over output captured from Nix 2.26.3 on Debian trixie lab hosts."""

import json

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._path_info import parse_path_info
from ansible_collections.nixkit.nix.plugins.module_utils._copy import (
    CopyError, check_paths, chunks, copy_args, file_store_dir, landed, last_error, not_valid, parse_invalid,
    plan, signature_refusal, store_scheme,
)

TOP = '/nix/store/h9pyfxmqkw83pighm3clg0amp4ahn3bh-top'
MID = '/nix/store/is3kci1r8j5c92g7pijhq53233f96ghv-mid'
LEAF = '/nix/store/zpmhsiahi5swypypj9nmxka4hi1az9v1-leaf'
NOPE = '/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-nope'

# `nix path-info --recursive --json TOP` (registrationTime and hashes trimmed to what matters).
PATH_INFO = json.dumps({
    TOP: {'ca': None, 'narSize': 384, 'references': [MID, LEAF], 'signatures': [], 'ultimate': True},
    MID: {'ca': None, 'narSize': 336, 'references': [LEAF], 'signatures': [], 'ultimate': True},
    LEAF: {'ca': None, 'narSize': 200472, 'references': [], 'signatures': [], 'ultimate': True},
})
# `nix path-info --json TOP NOPE`: rc 0, null for the invalid path (stderr: "don't know how to build").
PATH_INFO_WITH_NULL = '{"%s":{"narSize":384},"%s":null}' % (TOP, NOPE)
# `nix path-info --recursive --json TOP NOPE`: rc 1.
RECURSIVE_NOT_VALID = ("don't know how to build these paths:\n  %s\nerror: path '%s' is not valid\n" % (NOPE, NOPE))
# `nix copy --to ssh-ng://alice@dst TOP`, alice not in trusted-users, TOP unsigned.
UNSIGNED = ("copying 3 paths...\ncopying path '%s' to 'ssh-ng://'...\n"
            "error: cannot add path '%s' because it lacks a signature by a trusted key\n" % (LEAF, LEAF))


@pytest.mark.parametrize('store, option, scheme', [
    ('ssh-ng://root@dst', 'to', 'ssh-ng'),
    ('ssh://nix-ssh@cache1?ssh-key=/root/.ssh/cache', 'from', 'ssh'),
    ('file:///var/cache/nix-bin?compression=zstd', 'to', 'file'),
    ('https://cache.example.org', 'from', 'https'),
    ('http://cache.example.org/sub', 'from', 'http'),
    ('local', 'to', 'local'),
    ('local?root=/mnt', 'to', 'local'),
    ('daemon', 'from', 'daemon'),
    ('auto', 'to', 'auto'),
])
def test_store_scheme_accepts(store, option, scheme):
    assert store_scheme(store, option) == scheme


@pytest.mark.parametrize('store, option, says', [
    ('https://cache.example.org', 'to', 'cannot write to an HTTP binary cache'),
    ('http://cache.example.org', 'to', 'cannot write to an HTTP binary cache'),
    ('s3://bucket', 'to', 'use daemon, local or a URL starting with ssh://, ssh-ng://, file://'),
    ('gopher://x', 'from', 'use daemon, local or a URL starting with ssh://, ssh-ng://, file://, http://, https://'),
    ('dst', 'to', 'use daemon, local'),
    ('/tmp/chroot', 'to', 'use daemon, local'),
    ('ssh-ng://', 'to', 'names no host'),
    ('file://', 'to', 'names no directory'),
    ('file:///', 'from', 'names no directory'),
])
def test_store_scheme_refuses(store, option, says):
    with pytest.raises(CopyError) as info:
        store_scheme(store, option)
    assert says in str(info.value) and option + '=' in str(info.value)


def test_file_store_dir_drops_parameters_and_unquotes():
    assert file_store_dir('file:///var/cache/nix%20bin?compression=zstd') == '/var/cache/nix bin'


@pytest.mark.parametrize('paths', [
    [TOP], [TOP, MID], ['/root/result'], ['/nix/store/9ha8dm1cqj8zw8szrkr0jpsj20ijxvhl-top.drv^out'],
])
def test_check_paths_accepts(paths):
    check_paths(paths)


@pytest.mark.parametrize('paths, says', [
    ([], 'paths is empty'),
    ([TOP + '/bin/hello'], 'not store paths: %r' % (TOP + '/bin/hello')),
    (['/nix/store/short-name'], 'not store paths'),
    (['/nix/store/H9PYFXMQKW83PIGHM3CLG0AMP4AHN3BH-top'], 'not store paths'),
    (['/nix/store/'], 'not store paths'),
    ([TOP, ''], "not store paths: ''"),
])
def test_check_paths_refuses(paths, says):
    with pytest.raises(CopyError) as info:
        check_paths(paths)
    assert says in str(info.value)


def test_not_valid_lists_nulls_or_falls_back_to_the_error():
    assert not_valid(parse_path_info(PATH_INFO_WITH_NULL)) == [NOPE]
    assert not_valid({}, RECURSIVE_NOT_VALID) == [NOPE]
    assert not_valid({TOP: {'valid': True}}, 'error: something else') == []


def test_parse_invalid_keeps_store_paths_only():
    assert parse_invalid('%s\n%s\n\n' % (TOP, LEAF)) == [TOP, LEAF]
    assert parse_invalid('') == [] and parse_invalid(None) == []
    assert parse_invalid('warning: something\n%s\n' % MID) == [MID]


def test_plan_counts_missing_bytes_and_present():
    info = parse_path_info(PATH_INFO)
    assert plan(info, [LEAF, TOP]) == dict(copied=[TOP, LEAF], bytes=200856, already_present=1)
    assert plan(info, []) == dict(copied=[], bytes=0, already_present=3)
    # A path outside the closure (cannot happen with real answers) is ignored.
    assert plan(info, [NOPE]) == dict(copied=[], bytes=0, already_present=3)


def test_landed_after_a_failed_copy():
    info = parse_path_info(PATH_INFO)
    assert landed(info, [TOP, MID, LEAF], [TOP, MID]) == dict(copied=[LEAF], bytes=200472)
    assert landed(info, [TOP], [TOP]) == dict(copied=[], bytes=0)


def test_chunks():
    assert chunks(range(5), 2) == [[0, 1], [2, 3], [4]]
    assert chunks([], 2) == []


def test_copy_args():
    assert copy_args(None, None, False, True) == ['copy', '--stdin']
    assert copy_args('file:///c', 'ssh-ng://d', True, False) == [
        'copy', '--stdin', '--from', 'file:///c', '--to', 'ssh-ng://d', '--substitute-on-destination',
        '--no-check-sigs']


def test_ssh_env_never_prompts_or_learns_keys(monkeypatch):
    from ansible_collections.nixkit.nix.plugins.module_utils._nix_cmd import ssh_env
    monkeypatch.delenv('NIX_SSHOPTS', raising=False)
    assert ssh_env(7) == {'NIX_SSHOPTS': '-o ConnectTimeout=7 -o BatchMode=yes -o UpdateHostKeys=no'}
    # A port from the task's environment comes first: ssh takes the first value of an option.
    monkeypatch.setenv('NIX_SSHOPTS', '-p 2222 -o HostKeyAlias=t1')
    assert ssh_env(7)['NIX_SSHOPTS'] == '-p 2222 -o HostKeyAlias=t1 -o ConnectTimeout=7 -o BatchMode=yes -o UpdateHostKeys=no'


def test_signature_refusal_is_nix_own_line():
    assert signature_refusal(UNSIGNED) == (
        "cannot add path '%s' because it lacks a signature by a trusted key" % LEAF)
    assert signature_refusal("error: path '%s' is not valid\n" % NOPE) is None
    assert signature_refusal(None) is None


def test_last_error():
    assert last_error(UNSIGNED).startswith('error: cannot add path')
    assert last_error('Killed\n') == 'Killed'
    assert last_error('') == ''
