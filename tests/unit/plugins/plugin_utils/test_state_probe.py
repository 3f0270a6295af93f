# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The state probe (plugin_utils/_state_probe.py): its shell really runs here on files it makes; the parse decides."""

import hashlib
import os
import subprocess

from ansible_collections.nixkit.nix.plugins.plugin_utils import _state_probe as state_probe


def run(command):
    return state_probe.parse(subprocess.run(['sh', '-c', command], capture_output=True, text=True, check=True).stdout)


def test_files_directories_includes_and_accounts_as_the_shell_reads_them(tmp_path):
    conf, settings = tmp_path / 'nix.conf', tmp_path / 'nixkit.d' / 'builder.conf'
    settings.parent.mkdir()
    settings.write_text('max-jobs = 2\n')
    os.chmod(settings, 0o640)
    conf.write_text('substituters =\n!include %s\n' % settings)
    state = run(state_probe.command('/usr/bin:/bin', files=[str(settings), str(settings.parent), str(tmp_path / 'gone')],
                                    includes=[(str(conf), str(settings)), (str(conf), str(tmp_path / 'other.conf'))],
                                    accounts=['root', 'nixkit-no-such-user']))
    uid, gid = os.getuid(), os.getgid()
    assert state['files'][str(settings)] == {'sha256': hashlib.sha256(b'max-jobs = 2\n').hexdigest(), 'dir': False,
                                             'stat': '%d:%d:640' % (uid, gid)}
    assert state['files'][str(settings.parent)]['dir'] and state['files'][str(settings.parent)]['sha256'] is None
    assert state['files'][str(tmp_path / 'gone')] is None
    assert state['includes'] == {(str(conf), str(settings)): True, (str(conf), str(tmp_path / 'other.conf')): False}
    assert state['accounts']['root']['home'] == '/root' and 'root' in state['accounts']['root']['groups']
    assert state['accounts']['nixkit-no-such-user'] is None


def test_what_nix_and_the_host_say():
    text = ('config max-jobs = 4\nconfig system = x86_64-linux\nconfig extra-platforms = \n'
            'config system-features = benchmark big-parallel kvm\nreach yes nixbuilder\nreach no nix-ssh\n'
            'hostkey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\nnoise that is not a fact\n')
    state = state_probe.parse(text)
    assert state['config'] == {'max-jobs': '4', 'system': 'x86_64-linux', 'extra-platforms': '',
                               'system-features': 'benchmark big-parallel kvm'}
    assert state['daemon'] == {'nixbuilder': True, 'nix-ssh': False}
    assert state['host_key'] == 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey'


def test_a_missing_nix_leaves_the_config_empty():
    state = run(state_probe.command('/nonexistent', config=True))
    assert state['config'] == {}


def test_a_public_file_is_read_line_by_line_and_a_missing_one_has_none(tmp_path):
    known = tmp_path / 'known_hosts'
    known.write_text('builder1 ssh-ed25519 AAAAKey1\n10.0.0.2 ssh-ed25519 AAAAKey2\n')
    state = run(state_probe.command('/usr/bin:/bin', lines=[str(known), str(tmp_path / 'none')]))
    assert state['lines'] == {str(known): ['builder1 ssh-ed25519 AAAAKey1', '10.0.0.2 ssh-ed25519 AAAAKey2']}


def test_a_last_line_without_a_newline_does_not_swallow_the_next_fact(tmp_path):
    public = tmp_path / 'signing.pub'
    public.write_text('client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ==')  # as Nix writes it: no newline
    state = run(state_probe.command('/usr/bin:/bin', lines=[str(public)], accounts=['root']))
    assert state['lines'] == {str(public): ['client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ==']}
    assert state['accounts']['root']['home'] == '/root'  # the next fact was read on a line of its own
