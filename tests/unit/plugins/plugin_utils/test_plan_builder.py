# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_builder's plan (plugin_utils/_plan_builder.py): what the role makes true, and Debian/NixOS parity -
the NixOS module's definitions say what the Debian files say (the same settings, the same authorized keys)."""

import hashlib
import os

import pytest
import yaml

from ansible_collections.nixkit.nix.plugins.module_utils import _descriptor as descriptor_file
from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf
from ansible_collections.nixkit.nix.plugins.module_utils._nixos_module import check, render
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_builder as plan_builder
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args
from ansible_collections.nixkit.nix.plugins.plugin_utils import _state_probe as state_probe
from ansible_collections.nixkit.nix.plugins.plugin_utils._estate import EstateError
from ansible_collections.nixkit.nix.tests.unit.plugins.module_utils.test_nixos_render import nixos_conf_value

CLIENT_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIClientKeyClientKeyClientKeyClientKey00 root@client1'
SIGNING = 'client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ=='
DEBIAN = {'daemon': '/usr/bin/nix-daemon', 'nixos': False}
NIXOS = {'daemon': '/run/current-system/sw/bin/nix-daemon', 'nixos': True}


def defaults(role):
    """The role's defaults/main.yml as Ansible passes them (those that are expressions given as they evaluate)."""
    with open(os.path.join(role_args.ROLES_DIR, role, 'defaults', 'main.yml')) as handle:
        return {k: v for k, v in yaml.safe_load(handle).items() if '{{' not in str(v)}


def args(**values):
    """The role's variables as the estate action types them (INI strings too)."""
    given = dict(defaults('nix_builder'), nix_builder_clients_group='nix_clients', nix_builder_nixos_rebuild=False,
                 nix_builder_nixos_rebuild_command=['nixos-rebuild', 'switch'],
                 nix_builder_nixos_module_path='/etc/nixos/nixkit/nix-builder.nix')
    return role_args.typed('nix_builder', dict(given, **values))


def view(keys=(CLIENT_KEY,), signing=(SIGNING,)):
    return {'ssh_keys': list(keys), 'signing_keys': list(signing), 'clients': ['client1'], 'keyless_clients': []}


def debian_settings(settings):
    """What nix_conf writes for these settings, as Nix reads it back."""
    lines, _changed = _nix_conf.apply([], settings)
    return _nix_conf.effective(lines)


def test_the_clients_keys_may_run_the_daemon_protocol_only():
    plan = plan_builder.plan('b1', args(), view(), DEBIAN)
    assert plan['key_lines'] == ['restrict,command="/usr/bin/nix-daemon --stdio" ' + CLIENT_KEY]
    assert plan['authorized_keys'] == (
        '# Managed by nixkit.nix.nix_builder: keys that may run /usr/bin/nix-daemon --stdio only.\n'
        'restrict,command="/usr/bin/nix-daemon --stdio" ' + CLIENT_KEY + '\n')
    # No client: the file still says who manages it, and lets nobody in.
    assert plan_builder.plan('b1', args(), view(keys=()), DEBIAN)['authorized_keys'].count('\n') == 1


def test_the_legacy_protocol_serves_with_write_for_a_trusted_user_only():
    plan = plan_builder.plan('b1', args(nix_builder_protocol='ssh', nix_builder_trusted='true'), view(), DEBIAN)
    assert plan['forced_command'] == '/usr/bin/nix-store --serve --write'
    assert plan['settings']['extra-trusted-users'] == ['nixbuilder']
    with pytest.raises(EstateError, match='nix_builder_protocol=ssh: the legacy "ssh" protocol only builds for trusted'):
        plan_builder.plan('b1', args(nix_builder_protocol='ssh'), view(), DEBIAN)


def test_settings_trust_nobody_unless_asked_and_keep_nix_defaults_for_empty_features():
    plan = plan_builder.plan('b1', args(), view(), DEBIAN)
    assert plan['settings'] == {'extra-trusted-public-keys': [SIGNING], 'max-jobs': 'auto', 'cores': 0}
    # From an INI inventory: every value a string.
    plan = plan_builder.plan('b1', args(nix_builder_system_features='kvm,big-parallel', nix_builder_max_jobs='4',
                                        nix_builder_cores='2'), view(), DEBIAN)
    assert plan['settings']['system-features'] == ['kvm', 'big-parallel']
    assert plan['settings']['cores'] == 2


@pytest.mark.parametrize('trusted, protocol', [(False, 'ssh-ng'), (True, 'ssh')])
def test_the_nixos_module_says_what_the_debian_files_say(trusted, protocol):
    typed = args(nix_builder_trusted=trusted, nix_builder_protocol=protocol, nix_builder_system_features=['kvm'],
                 nix_builder_max_jobs=4)
    debian = plan_builder.plan('b1', typed, view(), DEBIAN)
    nixos = plan_builder.plan('b1', typed, view(), NIXOS)
    definitions = nixos['nixos_definitions']
    assert definitions['nix.settings'] == debian['settings']
    assert debian_settings(debian['settings']) == dict((k, nixos_conf_value(v)) for k, v in definitions['nix.settings'].items())
    user = definitions['users.users.nixbuilder']
    # The same keys, bound to the same command where NixOS has it.
    assert user['openssh.authorizedKeys.keys'] == [line.replace('/usr/bin/', '/run/current-system/sw/bin/')
                                                   for line in debian['key_lines']]
    assert user['isSystemUser'] and user['home'] == '/var/lib/nixbuilder'
    check(definitions)  # only recorded options, with their types


def test_max_startups_grows_with_the_clients_unless_given():
    assert plan_builder.plan('b1', args(), view(), DEBIAN)['max_startups'] == '10:30:30'
    many = view(keys=['%s%02d' % (CLIENT_KEY[:-2], n) for n in range(5)])
    assert plan_builder.plan('b1', args(), many, DEBIAN)['max_startups'] == '20:30:60'
    plan = plan_builder.plan('b1', args(nix_builder_sshd_max_startups='50'), many, DEBIAN)
    assert plan['max_startups'] == '50:30:150'
    assert plan['sshd_dropin'].endswith('\nMaxStartups 50:30:150\n')
    # On NixOS as a default the host's own value overrides.
    text = render(plan_builder.plan('b1', args(), view(), NIXOS)['nixos_definitions'], 'test')
    assert 'services.openssh.settings.MaxStartups = lib.mkDefault "10:30:30";' in text


def test_the_rebuild_runs_only_when_asked():
    assert plan_builder.plan('b1', args(), view(), NIXOS)['nixos_rebuild'] == []
    assert plan_builder.plan('b1', args(nix_builder_nixos_rebuild='yes'), view(), NIXOS)['nixos_rebuild'] == [
        'nixos-rebuild', 'switch']


def converged_state(plan, typed, descriptor_matches=True):
    """A Debian builder as the role leaves it, as the state probe reads it back."""
    def holds(text, stat='0:0:644'):
        return {'sha256': hashlib.sha256(text.encode()).hexdigest(), 'dir': False, 'stat': stat}
    state = {'files': {}, 'includes': {}, 'accounts': {}, 'daemon': {'nixbuilder': True},
             'config': {'system': 'x86_64-linux', 'extra-platforms': 'i686-linux', 'max-jobs': '4',
                        'system-features': 'benchmark big-parallel kvm'},
             'host_key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey'}
    state['accounts']['nixbuilder'] = {'home': '/var/lib/nixbuilder', 'shell': '/bin/sh',
                                       'groups': ['nixbuilder', 'nix-users'], 'password': '*'}
    state['files'].update({
        '/etc/nix/nixkit.d': {'sha256': None, 'dir': True, 'stat': '0:0:755'},
        '/etc/nix/nixkit.d/builder.conf': holds(state_probe.settings_text(plan['settings'])),
        '/var/lib/nixbuilder/.ssh': {'sha256': None, 'dir': True, 'stat': '0:0:755'},
        '/var/lib/nixbuilder/.ssh/authorized_keys': holds(plan['authorized_keys']),
        '/etc/ssh/sshd_config.d/40-nixkit-nix-builder.conf': holds(plan['sshd_dropin']),
    })
    state['includes'][('/etc/nix/nix.conf', '/etc/nix/nixkit.d/builder.conf')] = True
    published = plan_builder.descriptor(typed, state)
    state['files'][plan_builder.DESCRIPTOR_PATH] = holds(descriptor_file.render(published) if descriptor_matches else '{}\n')
    return state


def test_a_converged_builder_has_nothing_left_to_do():
    typed = args()
    plan = plan_builder.plan('b1', typed, view(), DEBIAN)
    differs = plan_builder.differs(plan, typed, converged_state(plan, typed), nixos=False)
    assert not differs.pop('any') and not any(differs.values()), differs
    assert plan_builder.descriptor(typed, converged_state(plan, typed)) == {
        'host_key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey', 'user': 'nixbuilder', 'protocol': 'ssh-ng',
        'systems': ['x86_64-linux', 'i686-linux'], 'supported_features': ['benchmark', 'big-parallel', 'kvm'],
        'mandatory_features': [], 'max_jobs': 4, 'speed_factor': 1}


@pytest.mark.parametrize('change, steps', [
    (lambda s: s['files'].pop('/var/lib/nixbuilder/.ssh/authorized_keys'), {'authorized_keys'}),
    (lambda s: s['files']['/var/lib/nixbuilder/.ssh/authorized_keys'].update(stat='0:0:666'), {'authorized_keys'}),
    (lambda s: s['files']['/etc/nix/nixkit.d/builder.conf'].update(sha256='0' * 64), {'settings', 'descriptor'}),
    # nix_conf leaves the settings file's mode alone: a mode of its own is no difference.
    (lambda s: s['files']['/etc/nix/nixkit.d/builder.conf'].update(stat='0:0:600'), set()),
    (lambda s: s['includes'].clear(), {'include', 'descriptor'}),
    (lambda s: s['accounts']['nixbuilder'].update(groups=['nixbuilder']), {'user'}),
    (lambda s: s['accounts'].clear(), {'user'}),
    (lambda s: s['daemon'].clear(), {'store_info'}),
    (lambda s: s['files']['/var/lib/nixbuilder/.ssh'].update(stat='1000:1000:755'), {'ssh_dir'}),
    (lambda s: s['config'].update({'max-jobs': '8'}), {'descriptor'}),
    (lambda s: s.update(host_key=''), {'descriptor'}),
    (lambda s: s['config'].clear(), {'descriptor'}),
])
def test_only_the_steps_whose_part_differs_run(change, steps):
    typed = args()
    plan = plan_builder.plan('b1', typed, view(), DEBIAN)
    state = converged_state(plan, typed)
    change(state)
    differs = plan_builder.differs(plan, typed, state, nixos=False)
    assert differs.pop('any') == bool(steps)
    assert set(step for step, differ in differs.items() if differ) == steps


def test_every_step_runs_where_the_probe_cannot_tell():
    typed = args()
    plan = plan_builder.plan('b1', typed, view(), NIXOS)
    assert all(plan_builder.differs(plan, typed, converged_state(plan, typed), nixos=True).values())
    assert all(plan_builder.differs(plan, typed, None, nixos=False).values())


def test_state_reads_name_every_file_the_role_writes():
    reads = plan_builder.state_reads(args(nix_builder_sshd_dropin=''))
    assert reads['files'] == ['/etc/nix/nixkit.d', '/etc/nix/nixkit.d/builder.conf', '/var/lib/nixbuilder/.ssh',
                              '/var/lib/nixbuilder/.ssh/authorized_keys', '/etc/nix/nixkit-builder.json']
    assert reads['includes'] == [('/etc/nix/nix.conf', '/etc/nix/nixkit.d/builder.conf')]
