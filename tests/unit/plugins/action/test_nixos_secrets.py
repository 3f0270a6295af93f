# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nixos_secrets: the checks (module_utils/_secrets.py) and the plugin's whole flow, with its shell
really run by sh on this machine in a temporary directory (content on stdin, as over SSH)."""

import grp
import os
import pwd
import stat
import subprocess

import pytest

from ansible_collections.nixkit.nix.plugins.action.nixos_secrets import ActionModule
from ansible_collections.nixkit.nix.plugins.module_utils import _secrets as sec
from ansible_collections.nixkit.nix.plugins.module_utils._kv import parse_kv

SECRET = 'hunter2-s3cr3t-value'
VAR = 'nixos_deploy_secrets'


# --- checks on the controller -------------------------------------------------------------------

def test_defaults_and_normalisation():
    out = sec.check([{'dest': '/run/keys//a/../db', 'content': SECRET}], VAR)
    assert out == [{'dest': '/run/keys/db', 'index': 0, 'owner': 'root', 'group': 'root', 'mode': '0600',
                    'upload': 'pre-activation', 'content': SECRET}]
    assert sec.public(out[0]) == {'dest': '/run/keys/db', 'owner': 'root', 'group': 'root', 'mode': '0600',
                                  'upload': 'pre-activation'}


@pytest.mark.parametrize('mode, expected', [('0640', '0640'), ('640', '0640'), (0o640, '0640'), (384, '0600'), ('0400', '0400')])
def test_modes(mode, expected):
    assert sec.check([{'dest': '/k', 'content': 'x', 'mode': mode}])[0]['mode'] == expected


@pytest.mark.parametrize('dest', ['/nix/store', '/nix/store/abc-x', '/nix//store/abc', '/run/keys/../../nix/store/x',
                                  '//nix/store/y'])
def test_store_paths_are_refused_naming_the_variable(dest):
    with pytest.raises(sec.SecretsError) as err:
        sec.check([{'dest': '/run/keys/ok', 'content': 'x'}, {'dest': dest, 'content': SECRET}], VAR)
    assert str(err.value).startswith('nixos_deploy_secrets[1] (dest %s): a secret must not go into the Nix store' % dest)
    assert 'Nothing was changed' in str(err.value) and SECRET not in str(err.value)


@pytest.mark.parametrize('item, words', [
    ({'dest': 'relative', 'content': 'x'}, 'dest must be an absolute path'),
    ({'dest': '/dir/', 'content': 'x'}, 'dest must be an absolute path'),
    ({'dest': '/a\nb', 'content': 'x'}, 'newlines'),
    ({'dest': '/a'}, 'exactly one of content'),
    ({'dest': '/a', 'content': SECRET, 'src': 'f'}, 'exactly one of content'),
    ({'dest': '/a', 'content': SECRET, 'mode': 'u=rw'}, 'octal string'),
    ({'dest': '/a', 'content': SECRET, 'mode': '4755'}, 'octal string'),
    ({'dest': '/a', 'content': SECRET, 'mode': True}, 'octal string'),
    ({'dest': '/a', 'content': SECRET, 'owner': 'a b'}, "owner 'a b' is not a user"),
    ({'dest': '/a', 'content': SECRET, 'upload': 'later'}, 'upload must be pre-activation'),
    ({'dest': '/a', 'content': SECRET, 'contents': 'typo'}, 'unknown keys contents'),
    ({'dest': '/a', 'content': 5}, 'content must be a string'),
    ('just a string', 'must be a dict'),
])
def test_bad_items_are_refused_without_showing_content(item, words):
    with pytest.raises(sec.SecretsError) as err:
        sec.check([item], VAR)
    assert words in str(err.value) and str(err.value).startswith('nixos_deploy_secrets[0]')
    assert SECRET not in str(err.value)


def test_an_inline_vault_value_is_read_when_checked():
    class Vaulted(object):   # what older ansible-core gives for !vault: decrypted on access to .data
        data = SECRET
    assert sec.check([{'dest': '/k', 'content': Vaulted()}], VAR)[0]['content'] == SECRET


def test_duplicates_and_non_lists():
    with pytest.raises(sec.SecretsError, match=r'\[1\] \(dest /a/\./b\): the same file as nixos_deploy_secrets\[0\]'):
        sec.check([{'dest': '/a/b', 'content': 'x'}, {'dest': '/a/./b', 'content': 'y'}], VAR)
    with pytest.raises(sec.SecretsError, match='must be a list'):
        sec.check({'dest': '/a'}, VAR)
    assert sec.check(None) == [] and sec.check([]) == []


def test_problems_on_the_target():
    secrets = sec.check([{'dest': '/etc/x/key', 'content': 'x'},
                         {'dest': '/var/lib/app/t', 'content': 'y', 'owner': 'app', 'upload': 'post-activation'}], VAR)
    probed = parse_kv('uid=0\ns0_dir=/nix/store/aaa-etc\ns0_type=none\ns0_uid=0\ns0_gid=0\n'
                      's1_dir=/var/lib\ns1_type=none\ns1_uid=\ns1_gid=0\n')
    errors = sec.problems(secrets, probed, ['pre-activation'], VAR)
    assert errors == ['nixos_deploy_secrets[0] (dest /etc/x/key): its directory resolves to /nix/store/aaa-etc, inside the '
                      'Nix store (through a symbolic link); a secret must not go there. Choose a path outside /nix/store.']
    # The owner of a post-activation secret must exist when it is written, not before (nor in check mode).
    post = sec.problems(secrets[1:], parse_kv('uid=0\ns0_dir=/var/lib\ns0_type=none\ns0_uid=\ns0_gid=0\n'),
                        ['post-activation'], VAR)
    assert post == ['nixos_deploy_secrets[1] (dest /var/lib/app/t): owner app does not exist on the target']
    assert sec.problems(secrets[1:], parse_kv('uid=0\ns0_dir=/var/lib\ns0_type=none\ns0_uid=\ns0_gid=0\n'),
                        ['post-activation'], VAR, check_mode=True) == []
    pre = sec.check([{'dest': '/k', 'content': 'x', 'owner': 'app'}], VAR)
    assert 'set upload: post-activation' in sec.problems(pre, parse_kv('uid=0\ns0_dir=/\ns0_uid=\ns0_gid=0\n'),
                                                         ['pre-activation'], VAR)[0]
    assert 'become: true' in sec.problems([], {'uid': '1000'}, [], VAR)[0]
    link = sec.problems(pre, parse_kv('uid=0\ns0_dir=/\ns0_type=link\ns0_link=/nix/store/bbb-k\ns0_uid=0\ns0_gid=0\n'),
                        [], VAR)
    assert link == ['nixos_deploy_secrets[0] (dest /k): it is a link into the Nix store (/nix/store/bbb-k), a file the '
                    'system manages; choose another path']


# --- the plugin's flow, with its shell run here ---------------------------------------------------

class Task(object):
    def __init__(self, check_mode=False, diff=False):
        self.check_mode, self.diff = check_mode, diff


class Loader(object):
    def get_real_file(self, path, decrypt=True):
        return path

    def cleanup_tmp_file(self, path):
        pass


def plugin(check_mode=False, diff=False, log=None):
    p = object.__new__(ActionModule)
    p._task = Task(check_mode, diff)
    p._loader = Loader()
    p._find_needle = lambda kind, path: path
    commands = log if log is not None else []

    def run(script, data=None):
        # Over ssh, empty stdin data means no stdin and a terminal: a script reading it waits for ever.
        assert data is None or len(data) > 0, 'empty stdin sent: %s' % script
        commands.append((script, data))
        done = subprocess.run(['sh', '-c', script.rstrip('\n') + ' ; sleep 0'], input=data, capture_output=True, check=False)
        return {'rc': done.returncode, 'stdout': done.stdout.decode(), 'stderr': done.stderr.decode()}
    p._run = run
    return p


ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='the plugin refuses to write secrets unless it runs as root')


WHERE = {}


@pytest.fixture(autouse=True)
def private_manifest(tmp_path):
    # Never the real /var/lib/nixkit/secrets.list of the machine running the tests.
    WHERE['manifest'] = str(tmp_path / 'manifest' / 'secrets.list')


def args(secrets, stage='all'):
    return {'secrets': secrets, 'stage': stage, 'variable': VAR, 'prune': False, 'manifest': WHERE['manifest']}


@needs_root
def test_write_then_unchanged_then_metadata_then_content(tmp_path):
    dest = str(tmp_path / 'keys' / 'db')
    src = tmp_path / 'src.txt'
    src.write_bytes(b'from-a-file\n')
    secrets = [{'dest': dest, 'content': SECRET, 'owner': ME, 'group': MY_GROUP, 'mode': '0640'},
               {'dest': str(tmp_path / 'f'), 'src': str(src)}]
    log = []
    first = plugin(log=log)._secrets(args(secrets))
    assert first['changed'] and first['error'] is None
    assert [s['state'] for s in first['secrets']] == ['written', 'written']
    assert open(dest).read() == SECRET and stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert open(str(tmp_path / 'f'), 'rb').read() == b'from-a-file\n'
    assert stat.S_IMODE(os.stat(str(tmp_path / 'f')).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / 'keys')).st_mode) == 0o755
    # The content was only ever on stdin, never in a command, and is nowhere in the result.
    assert all(SECRET not in script for script, dummy in log) and SECRET not in repr(first)
    assert not [n for n in os.listdir(str(tmp_path / 'keys')) if n.startswith('.nixkit-secret')]

    again = plugin()._secrets(args(secrets))
    assert not again['changed'] and [s['state'] for s in again['secrets']] == ['unchanged', 'unchanged']

    os.chmod(dest, 0o644)
    fixed = plugin(diff=True)._secrets(args(secrets))
    assert [s['state'] for s in fixed['secrets']] == ['written', 'unchanged']
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert fixed['diff'][0]['after'] == 'content: (secret, not shown)\nowner: %s, group: %s, mode: 0640\n' % (ME, MY_GROUP)
    assert fixed['diff'][0]['before'].endswith('mode: 0644\n')

    secrets[0]['content'] = SECRET + '-rotated'
    predicted = plugin(check_mode=True, diff=True)._secrets(args(secrets))
    assert predicted['changed'] and predicted['secrets'][0]['state'] == 'would write'
    assert 'changed)' in predicted['diff'][0]['after'] and open(dest).read() == SECRET
    assert SECRET not in repr(predicted)
    assert plugin()._secrets(args(secrets))['secrets'][0]['state'] == 'written' and open(dest).read() == SECRET + '-rotated'


@needs_root
def test_an_empty_secret_is_written_without_stdin(tmp_path):
    dest = str(tmp_path / 'empty')
    log = []
    assert plugin(log=log)._secrets(args([{'dest': dest, 'content': ''}]))['secrets'][0]['state'] == 'written'
    assert open(dest).read() == '' and [data for dummy, data in log] == [None, None, (dest + '\n').encode()]  # probe, write, manifest
    assert plugin(check_mode=True)._secrets(args([{'dest': dest, 'content': ''}]))['secrets'][0]['state'] == 'unchanged'
    assert plugin()._secrets(args([{'dest': dest, 'content': ''}]))['secrets'][0]['state'] == 'unchanged'
    with open(dest, 'w') as handle:
        handle.write('x')
    assert plugin(check_mode=True)._secrets(args([{'dest': dest, 'content': ''}]))['secrets'][0]['state'] == 'would write'


@needs_root
def test_a_link_is_replaced_not_followed(tmp_path):
    target = tmp_path / 'elsewhere'
    target.write_text('keep me')
    dest = tmp_path / 'key'
    os.symlink(str(target), str(dest))
    done = plugin()._secrets(args([{'dest': str(dest), 'content': SECRET}]))
    assert done['changed'] and not os.path.islink(str(dest)) and target.read_text() == 'keep me'


@needs_root
def test_stages_and_check_mode_write_nothing_else(tmp_path):
    pre, post = str(tmp_path / 'pre'), str(tmp_path / 'post')
    secrets = [{'dest': pre, 'content': 'a'}, {'dest': post, 'content': 'b', 'upload': 'post-activation', 'owner': 'no-such-user-x'}]
    checked = plugin(check_mode=True)._secrets(args(secrets, 'post-activation'))
    assert checked['error'] is None and [s['state'] for s in checked['secrets']] == ['other stage', 'would write']
    assert not os.path.exists(pre) and not os.path.exists(post)
    first = plugin()._secrets(args(secrets, 'pre-activation'))
    assert [s['state'] for s in first['secrets']] == ['written', 'other stage'] and not os.path.exists(post)
    refused = plugin()._secrets(args(secrets, 'post-activation'))
    assert refused['failed'] and refused['error'] == (
        'nixos_deploy_secrets[1] (dest %s): owner no-such-user-x does not exist on the target Nothing was changed.' % post)
    assert plugin()._secrets(args(secrets, 'validate'))['error'] is None


@needs_root
def test_a_directory_through_a_link_into_the_store_is_refused_before_anything_is_written(tmp_path):
    if not os.path.isdir('/nix/store'):
        pytest.skip('needs a /nix/store directory to link to')
    os.symlink('/nix/store', str(tmp_path / 'sneaky'))
    ok = str(tmp_path / 'ok')
    out = plugin()._secrets(args([{'dest': ok, 'content': 'x'}, {'dest': str(tmp_path / 'sneaky' / 'k'), 'content': 'y'}]))
    assert out['failed'] and 'its directory resolves to /nix/store' in out['error'] and not os.path.exists(ok)


def test_scripts_are_valid_sh_and_carry_no_content():
    s = sec.check([{'dest': "/run/keys/it's", 'content': SECRET, 'owner': 'a', 'group': '100'}])[0]
    for script in (sec.probe([s]), sec.compare_script(s), sec.write_script(s, True)):
        checked = subprocess.run(['sh', '-n'], input=script + ' ; sleep 0', capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        assert SECRET not in script


# --- removing what is no longer listed ----------------------------------------------------------

def pruning(secrets, manifest, stage='all', prune=True):
    return {'secrets': secrets, 'stage': stage, 'variable': VAR, 'prune': prune, 'manifest': manifest}


@needs_root
def test_a_secret_dropped_from_the_list_is_removed_and_the_manifest_follows(tmp_path):
    manifest = str(tmp_path / 'state' / 'secrets.list')
    a, b, c = (str(tmp_path / n) for n in ('a', 'b', 'c'))
    three = [{'dest': a, 'content': 'A'}, {'dest': b, 'content': 'B', 'upload': 'post-activation'}, {'dest': c, 'content': 'C'}]
    first = plugin()._secrets(pruning(three, manifest, stage='pre-activation'))
    # Only what this stage wrote is recorded; b is written (and recorded) by the next stage.
    assert first['removed'] == [] and open(manifest).read() == '%s\n%s\n' % (a, c)
    assert stat.S_IMODE(os.stat(manifest).st_mode) == 0o600
    plugin()._secrets(pruning(three, manifest, stage='post-activation'))
    assert open(manifest).read() == '%s\n%s\n%s\n' % (a, b, c)

    # Without prune (the module's default) nothing is removed: the manifest only grows.
    kept = plugin()._secrets(pruning(three[:1], manifest, prune=False))
    assert kept['removed'] == [] and os.path.exists(b) and open(manifest).read().count('\n') == 3

    predicted = plugin(check_mode=True, diff=True)._secrets(pruning(three[:1], manifest))
    assert predicted['changed'] and predicted['removed'] == [b, c] and os.path.exists(b) and os.path.exists(c)
    assert 'would remove 2 no longer listed' in predicted['msg']
    assert predicted['diff'] == [sec.removed_diff(b), sec.removed_diff(c)] and 'B' not in repr(predicted)

    done = plugin(diff=True)._secrets(pruning(three[:1], manifest))
    assert done['changed'] and done['removed'] == [b, c] and not os.path.exists(b) and not os.path.exists(c)
    assert open(a).read() == 'A' and open(manifest).read() == a + '\n'
    assert done['msg'] == 'wrote 0 secret(s); removed 2 no longer listed: %s, %s' % (b, c)
    again = plugin()._secrets(pruning(three[:1], manifest))
    assert not again['changed'] and again['removed'] == []

    # The whole list emptied: everything this plugin wrote goes.
    empty = plugin()._secrets(pruning([], manifest))
    assert empty['removed'] == [a] and not os.path.exists(a) and open(manifest).read() == ''
    assert not plugin()._secrets(pruning([], manifest))['changed']


@needs_root
def test_pruning_removes_a_link_not_its_target_and_leaves_a_directory(tmp_path):
    manifest = tmp_path / 'secrets.list'
    target = tmp_path / 'precious'
    target.write_text('keep me')
    link, directory = tmp_path / 'link', tmp_path / 'dir'
    os.symlink(str(target), str(link))
    directory.mkdir()
    # A hand-edited manifest: relative paths and store paths are ignored, never removed.
    manifest.write_text('%s\n%s\nrelative/x\n/nix/store/abc-x\n%s' % (link, directory, tmp_path / 'gone'))
    done = plugin()._secrets(pruning([], str(manifest)))
    assert done['removed'] == [str(link)] and target.read_text() == 'keep me' and directory.is_dir()
    assert done['warnings'] == ['nixos_secrets: %s no longer listed but not a file (a directory?); left in place' % directory]
    assert manifest.read_text() == ''


def test_manifest_paths_are_checked_and_stale_entries_decided():
    for bad in ('relative', '/nix/store/x', '/dir/', '/a\nb', None):
        with pytest.raises(sec.SecretsError, match='manifest'):
            sec.check_manifest(bad)
    listed = sec.managed('uid=0\nmanaged=present:/run/keys/a\nmanaged=absent:/run/keys/b\nmanaged=present:/nix/store/x\n'
                         'managed=present:rel\nmanaged=odd:/y\nmanaged=other:/d\n')
    assert listed == {'/run/keys/a': 'present', '/run/keys/b': 'absent', '/d': 'other'}
    secrets = sec.check([{'dest': '/run/keys/a', 'content': 'x'}, {'dest': '/k', 'content': 'y', 'upload': 'post-activation'}])
    assert sec.stale(secrets[:1], listed) == ['/d', '/run/keys/b']
    assert sec.next_manifest(secrets, listed, ['pre-activation'], prune=True) == ['/run/keys/a']
    assert sec.next_manifest(secrets, listed, ['post-activation'], prune=False) == ['/d', '/k', '/run/keys/a', '/run/keys/b']
    for script in (sec.probe(secrets, '/var/lib/nixkit/secrets.list'), sec.remove_script(['/a b', "/it's"]),
                   sec.manifest_script('/var/lib/nixkit/secrets.list')):
        checked = subprocess.run(['sh', '-n'], input=script + ' ; sleep 0', capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr


@needs_root
def test_a_manifest_that_cannot_be_written_fails_naming_it_after_the_secret_is_in_place(tmp_path):
    blocker = tmp_path / 'not-a-dir'
    blocker.write_text('')
    dest = str(tmp_path / 'k')
    done = plugin()._secrets(pruning([{'dest': dest, 'content': 'x'}], str(blocker / 'secrets.list')))
    assert done['failed'] and done['error'].startswith('writing %s on the target failed: ' % (blocker / 'secrets.list'))
    assert open(dest).read() == 'x'


@needs_root
def test_a_removal_that_fails_is_reported_and_the_manifest_kept(tmp_path):
    manifest = tmp_path / 'secrets.list'
    stale = tmp_path / 'old'
    stale.write_text('old')
    manifest.write_text('%s\n' % stale)
    p = plugin()
    real = p._run

    def refuse_removal(script, data=None):
        if 'removed=' in script:
            return {'rc': 1, 'stdout': '', 'stderr': 'rm: cannot remove: Read-only file system'}
        return real(script, data)
    p._run = refuse_removal
    done = p._secrets(pruning([], str(manifest)))
    assert done['failed'] and done['error'] == ('removing the secrets no longer listed failed on the target: '
                                                'rm: cannot remove: Read-only file system')
    assert stale.exists() and manifest.read_text() == '%s\n' % stale
