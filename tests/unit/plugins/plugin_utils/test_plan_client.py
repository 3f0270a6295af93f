# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_client's plan (plugin_utils/_plan_client.py): on NixOS the module says what the Debian files say (the same
settings, machines entries and ssh_config), and the netrc is composed without ever being shown."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils import _descriptor as descriptor_file
from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf, _nix_machines
from ansible_collections.nixkit.nix.plugins.module_utils._nixos_module import check, render
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_client as plan_client
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args
from ansible_collections.nixkit.nix.plugins.plugin_utils import _state_probe as state_probe
from ansible_collections.nixkit.nix.plugins.plugin_utils._estate import EstateError
from ansible_collections.nixkit.nix.tests.unit.plugins.module_utils.test_nixos_render import (
    HOST_KEY, nixos_conf_value, nixos_machines_line)
from ansible_collections.nixkit.nix.tests.unit.plugins.plugin_utils.test_plan_builder import defaults

ACCOUNT = {'host': 'cache1', 'machine': 'cache1.lab', 'login': 'client1', 'password': 'p4ss'}


def args(**values):
    given = dict(defaults('nix_client'), nix_client_builders_group='nix_builders', nix_client_caches_group='nix_caches',
                 nix_client_nixos_rebuild=False, nix_client_nixos_rebuild_command=['nixos-rebuild', 'switch'],
                 nix_client_nixos_module_path='/etc/nixos/nixkit/nix-client.nix')
    return role_args.typed('nix_client', dict(given, **values))


def view(ssh_config='Host builder1.lab\n  # builder1\n  Port 2222\n  HostKeyAlias builder1.lab\n'):
    return {'builders': [dict(host='builder1.lab', user='nixbuilder', systems=['x86_64-linux'], max_jobs=2,
                              public_host_key=HOST_KEY, supported_features=['kvm'])],
            'substituters': ['ssh://nix-ssh@cache1.lab?base64-ssh-public-host-key=AAAA'],
            'cache_keys': ['cache1-1:Q2FjaGVLZXlPZkNhY2hlMQ=='], 'ssh_config': ssh_config, 'pins': [], 'reach': []}


def debian_settings(settings):
    lines, _changed = _nix_conf.apply([], settings)
    return _nix_conf.effective(lines)


@pytest.mark.parametrize('accounts', [[], [ACCOUNT]])
def test_the_nixos_module_says_what_the_debian_files_say(accounts):
    plan = plan_client.plan('client1', args(nix_client_max_jobs='0'), view(), {'nixos': True}, accounts)
    definitions = plan['nixos_definitions']
    debian = debian_settings(plan['settings'])
    # NixOS writes the builders line itself (nix.buildMachines -> @/etc/nix/machines).
    assert debian.pop('builders') == '@/etc/nix/machines'
    assert debian == dict((k, nixos_conf_value(v)) for k, v in definitions['nix.settings'].items())
    assert ('netrc-file' in definitions['nix.settings']) == bool(accounts) == plan['netrc']
    assert definitions['programs.ssh.extraConfig'] == view()['ssh_config']
    machines = plan['machines']
    nixos = [_nix_machines.parse(nixos_machines_line(m))[0] for m in _nix_machines.build_machines(machines)]
    assert nixos == [_nix_machines.parse(line)[0] for line in _nix_machines.machines(machines)]
    text = render(dict(definitions, **{'nix.buildMachines': _nix_machines.build_machines(machines)}), 'test')
    assert 'hostName = "builder1.lab";' in text and 'max-jobs = lib.mkDefault 0;' in text
    check(definitions)


def test_signatures_stay_required_and_the_users_caches_come_after_the_estates():
    plan = plan_client.plan('client1', args(nix_client_substituters=['https://cache.example.org'],
                                            nix_client_trusted_public_keys=['cache1-1:Q2FjaGVLZXlPZkNhY2hlMQ==',
                                                                            'ext-1:RXh0ZXJuYWxLZXlFeHRlcm5hbEtleTE=']),
                            view(), {'nixos': False})
    settings = plan['settings']
    assert settings['require-sigs'] is True
    assert settings['extra-substituters'][-1] == 'https://cache.example.org'
    assert settings['extra-trusted-public-keys'] == ['cache1-1:Q2FjaGVLZXlPZkNhY2hlMQ==', 'ext-1:RXh0ZXJuYWxLZXlFeHRlcm5hbEtleTE=']
    assert 'max-jobs' not in settings  # null leaves Nix's own


def test_the_ssh_config_drop_in_says_who_manages_it():
    assert plan_client.plan('client1', args(), view(), {})['ssh_config'].startswith(
        "# Managed by nixkit.nix.nix_client: how root's Nix daemon reaches the builders and caches.\nHost builder1.lab\n")
    bare = plan_client.plan('client1', args(), view(ssh_config=''), {'nixos': True})
    assert bare['ssh_config'].count('\n') == 1 and 'programs.ssh.extraConfig' not in bare['nixos_definitions']


def test_the_netrc_holds_the_estates_accounts_then_the_users():
    given = args(nix_client_netrc=[{'machine': 'cache.example.org', 'login': 'me', 'password': 's3cret'}])
    assert plan_client.netrc(given, [ACCOUNT]) == ('machine cache1.lab login client1 password p4ss\n'
                                                   'machine cache.example.org login me password s3cret\n')
    assert plan_client.plan('client1', given, view(), {})['netrc'] is True
    assert 's3cret' not in repr(plan_client.plan('client1', given, view(), {}))


def test_a_netrc_entry_without_a_password_is_refused_without_showing_it():
    given = args(nix_client_netrc=[{'machine': 'cache.example.org', 'login': 'me', 'password': 's3cret'},
                                   {'machine': 'cache.example.org', 'login': 'me'}])
    with pytest.raises(EstateError) as error:
        plan_client.plan('client1', given, view(), {})
    assert 'nix_client_netrc takes {machine, login, password} entries' in str(error.value)
    assert 'entries 2 ' in str(error.value) and 's3cret' not in str(error.value)


def converged(plan, typed, netrc_text=''):
    """A Debian client as the role leaves it, as the state probe reads it back."""
    files = {
        '/etc/ssh/ssh_config.d/50-nixkit-nix-client.conf': (plan['ssh_config'], '0:0:644'),
        '/etc/nix/machines': (_nix_machines.render(_nix_machines.machines(plan['machines'])), '0:0:644'),
        '/etc/nix/nixkit.d/client.conf': (state_probe.settings_text(plan['settings']), '0:0:644'),
    }
    if netrc_text:
        files['/etc/nix/nixkit-netrc'] = (netrc_text, '0:0:600')
    state = {'files': dict((p, {'sha256': state_probe.digest(t), 'dir': False, 'stat': m}) for p, (t, m) in files.items()),
             'includes': {('/etc/nix/nix.conf', '/etc/nix/nixkit.d/client.conf'): True},
             'lines': {plan_client.KNOWN_HOSTS: ['%s %s' % (p['name'], p['key']) for p in plan['pins']] + ['other ssh-rsa AAAA']},
             'peers': dict((p['name'], True) for p in plan['reach'])}
    state['files']['/etc/nix/nixkit.d'] = {'sha256': None, 'dir': True, 'stat': '0:0:755'}
    return state


def pinned_view():
    return dict(view(), pins=[{'name': 'builder1.lab', 'key': HOST_KEY}],
                reach=[{'name': 'builder1', 'kind': 'builder', 'store': 'ssh-ng://nixbuilder@builder1.lab', 'sshopts': ''}])


def test_a_converged_client_that_reaches_its_builders_has_nothing_left_to_do():
    typed = args()
    plan = plan_client.plan('client1', typed, pinned_view(), {}, [ACCOUNT])
    text = plan_client.netrc(typed, [ACCOUNT])
    differs = plan_client.differs(plan, typed, converged(plan, typed, text), False, text)
    assert not differs.pop('any') and not differs.pop('reach') and not any(differs.values()), differs
    assert 'p4ss' not in repr(differs)


@pytest.mark.parametrize('change, steps, reach', [
    (lambda s: s['lines'].clear(), {'pins'}, False),
    (lambda s: s['files'].pop('/etc/nix/machines'), {'machines'}, False),
    (lambda s: s['files']['/etc/nix/nixkit-netrc'].update(stat='0:0:644'), {'netrc'}, False),
    (lambda s: s['files']['/etc/nix/nixkit-netrc'].update(sha256='0' * 64), {'netrc'}, False),
    (lambda s: s['files']['/etc/ssh/ssh_config.d/50-nixkit-nix-client.conf'].update(sha256='0' * 64), {'ssh_config'}, False),
    (lambda s: s['includes'].clear(), {'include'}, False),
    (lambda s: s['peers'].update(builder1=False), set(), True),
    (lambda s: s['peers'].clear(), set(), True),
])
def test_only_what_differs_runs_and_a_silent_builder_runs_the_checks(change, steps, reach):
    typed = args()
    plan = plan_client.plan('client1', typed, pinned_view(), {}, [ACCOUNT])
    text = plan_client.netrc(typed, [ACCOUNT])
    state = converged(plan, typed, text)
    change(state)
    differs = plan_client.differs(plan, typed, state, False, text)
    assert differs.pop('reach') == reach and differs.pop('any') == bool(steps)
    assert set(step for step, differ in differs.items() if differ) == steps


def test_credentials_no_longer_needed_are_a_difference_until_removed():
    typed = args()
    plan = plan_client.plan('client1', typed, pinned_view(), {}, [])
    state = converged(plan, typed, 'machine old login x password y\n')
    assert plan_client.differs(plan, typed, state, False, '')['netrc']
    del state['files']['/etc/nix/nixkit-netrc']
    assert not plan_client.differs(plan, typed, state, False, '')['any']


def test_on_nixos_everything_runs():
    typed = args()
    plan = plan_client.plan('client1', typed, pinned_view(), {'nixos': True}, [])
    assert all(plan_client.differs(plan, typed, converged(plan, typed), True, '').values())


SSH_PUB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIClientKeyClientKeyClientKeyClientKey00 nix-daemon@client1'
SIGNING_PUB = 'client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ=='


def keys_state():
    """A client whose keys and descriptor are as the entry point "keys" leaves them."""
    def f(stat, text=''):
        return {'sha256': state_probe.digest(text), 'dir': False, 'stat': stat}
    descriptor = descriptor_file.render({'ssh_public_key': SSH_PUB, 'signing_public_key': SIGNING_PUB})
    return {'files': {'/root/.ssh': {'sha256': None, 'dir': True, 'stat': '0:0:700'},
                      '/root/.ssh/id_ed25519': f('0:0:600'), '/root/.ssh/id_ed25519.pub': f('0:0:644', SSH_PUB + '\n'),
                      '/etc/nix/nixkit-client-signing.sec': f('0:0:600'),
                      '/etc/nix/nixkit-client-signing.pub': f('0:0:644', SIGNING_PUB),
                      plan_client.CLIENT_DESCRIPTOR: f('0:0:644', descriptor)},
            'lines': {'/root/.ssh/id_ed25519.pub': [SSH_PUB], '/etc/nix/nixkit-client-signing.pub': [SIGNING_PUB]},
            'derived': {'/etc/nix/nixkit-client-signing.sec': SIGNING_PUB}}


def keys_args():
    return args(nix_client_signing_key_name='client1-1')


def test_keys_that_hold_publish_without_a_module_run():
    keys = plan_client.keys_differ(keys_args(), keys_state())
    assert keys.pop('public') == {'ssh_public_key': SSH_PUB, 'signing_public_key': SIGNING_PUB}
    assert keys.pop('signing_public_key') == SIGNING_PUB
    assert not any(keys.values()), keys


@pytest.mark.parametrize('change, steps', [
    (lambda s: s['files']['/etc/nix/nixkit-client-signing.sec'].update(stat='0:0:644'), {'signing', 'descriptor'}),
    (lambda s: s['derived'].clear(), {'signing', 'descriptor'}),  # a Nix that cannot derive it: the module decides
    (lambda s: s['lines'].update({'/etc/nix/nixkit-client-signing.pub': ['other-1:T3RoZXJLZXlPdGhlcktleU90aGVy']}),
     {'signing', 'descriptor'}),
    (lambda s: s['files'].pop('/root/.ssh/id_ed25519'), {'ssh_key', 'descriptor'}),
    (lambda s: s['files']['/root/.ssh'].update(stat='0:0:755'), {'ssh_dir'}),
    (lambda s: s['files'].pop(plan_client.CLIENT_DESCRIPTOR), {'descriptor'}),
])
def test_each_key_task_runs_only_when_its_part_does_not_hold(change, steps):
    state = keys_state()
    change(state)
    keys = plan_client.keys_differ(keys_args(), state)
    keys.pop('public')
    keys.pop('signing_public_key')
    assert set(k for k, v in keys.items() if v) == steps


def test_a_key_named_for_another_host_is_made_again():
    keys = plan_client.keys_differ(args(nix_client_signing_key_name='client2-1'), keys_state())
    assert keys['signing'] and keys['descriptor'] and keys['signing_public_key'] == ''


def test_http_caches_are_reached_by_their_url_beside_the_ssh_peers():
    caches = [{'host': 'cache1', 'transport': 'ssh', 'url': 'ssh://nix-ssh@cache1.lab'},
              {'host': 'cache1', 'transport': 'http', 'url': 'http://cache1.lab:8080'}]
    plan = plan_client.plan('client1', args(), dict(pinned_view(), caches=caches), {}, [])
    assert [peer['name'] for peer in plan['reach']] == ['builder1', 'cache1/http']
    assert plan['reach'][-1] == {'name': 'cache1/http', 'kind': 'cache', 'store': 'http://cache1.lab:8080', 'sshopts': ''}
