# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_cache_server on NixOS says what it says on Debian: the module's definitions (plugin_utils/_plan_cache.py)
and the Debian files (the role's templates, rendered from the same plan as nixkit.nix.estate returns it) are
compared; and what the plan refuses."""

import configparser
import os
import re

import pytest
import yaml
from jinja2 import Environment
from jinja2.nativetypes import NativeEnvironment

from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.test.core import TestModule as CoreTests

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf
from ansible_collections.nixkit.nix.plugins.module_utils._nixos_module import check, render
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_cache as plan_cache
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args
from ansible_collections.nixkit.nix.plugins.plugin_utils._estate import EstateError
from ansible_collections.nixkit.nix.tests.unit.plugins.module_utils.test_nixos_render import nixos_conf_value

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'nix_cache_server')
WRITER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIWriterKeyWriterKeyWriterKeyWriterKey00 root@client1'
READER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReaderKeyReaderKeyReaderKeyReaderKey00 root@client2'
EXTRA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExtraKeyExtraKeyExtraKeyExtraKeyExtra0 laptop'


def environment(native):
    env = (NativeEnvironment if native else Environment)(trim_blocks=True)
    env.filters.update(CoreFilters().filters())
    env.tests.update(CoreTests().tests())
    return env


def fake_inputs(nixos, ssh=True, http=True, auth=True, gc=True, protocol='ssh', writers=True, **more):
    """The role's defaults and typed variables, the host probe and the estate's view, as the estate action has them."""
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = {k: v for k, v in yaml.safe_load(handle).items() if '{{' not in str(v)}
    given = dict(defaults, nix_cache_server_key_name='cache1-1', nix_cache_server_clients_group='nix_clients',
                 nix_cache_server_nixos_rebuild=True, nix_cache_server_nixos_rebuild_command=['nixos-rebuild', 'switch'],
                 nix_cache_server_nixos_module_path='/etc/nixos/nixkit/nix-cache-server.nix',
                 nix_cache_server_address='cache1', nix_cache_server_ssh=ssh, nix_cache_server_ssh_protocol=protocol,
                 nix_cache_server_http=http, nix_cache_server_http_auth=auth, nix_cache_server_gc=gc,
                 nix_cache_server_http_users=[{'name': 'client1', 'password': 'secret'}])
    given.update(more)
    return {
        'args': role_args.typed('nix_cache_server', given),
        'view': {'writer_keys': [WRITER] if writers else [], 'reader_keys': [READER, EXTRA],
                 'upload_keys': ['client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ=='] if writers else []},
        'probe': {'nixos': nixos, 'daemon': '/run/current-system/sw/bin/nix-daemon' if nixos else '/usr/bin/nix-daemon'},
        'defaults': defaults,
    }


def role_vars(inputs):
    """The plan, and the variables the templates see: the role's defaults and ``__nix_cache_server``."""
    plan = plan_cache.plan('cache1', inputs['args'], inputs['view'], inputs['probe'])
    context = dict(inputs['defaults'], ansible_check_mode=False, inventory_hostname='cache1')
    context['__nix_cache_server'] = {'plan': plan, 'nixos': inputs['probe']['nixos'],
                                     'args': role_args.public('nix_cache_server', inputs['args'])}
    return dict(context, plan=plan)


def role_template(name, context):
    with open(os.path.join(ROLE, 'templates', name)) as handle:
        return environment(native=False).from_string(handle.read()).render(ansible_managed='managed', **context)


def unit_file(text):
    parser = configparser.ConfigParser(interpolation=None, delimiters=('=',))
    parser.optionxform = str
    parser.read_string(text)
    return {section: dict(parser[section]) for section in parser.sections()}


def nixos_unit_value(data):
    """How nixpkgs' systemd-lib renders a serviceConfig/timerConfig value (recorded, 2026)."""
    return ('true' if data else 'false') if isinstance(data, bool) else str(data)


@pytest.mark.parametrize('protocol', ['ssh', 'ssh-ng'])
@pytest.mark.parametrize('writers', [True, False])
def test_nixos_and_debian_say_the_same(protocol, writers):
    nixos = role_vars(fake_inputs(True, protocol=protocol, writers=writers))
    debian = role_vars(fake_inputs(False, protocol=protocol, writers=writers))
    definitions = nixos['plan']['nixos_definitions']
    check(definitions)  # only recorded options, with their types
    text = render(definitions, 'test')
    assert '"/etc/nix/nixkit-cache/cache1-1.sec"' in text  # a string: the secret never enters the store

    # Nix settings: one composition, the same in nix.conf whichever way it is written.
    settings = debian['plan']['settings']
    assert definitions['nix.settings'] == settings == nixos['plan']['settings']
    plain = _nix_conf.effective(_nix_conf.apply([], settings)[0])
    assert plain == {k: nixos_conf_value(v) for k, v in definitions['nix.settings'].items()}
    assert settings['extra-secret-key-files'] == ['/etc/nix/nixkit-cache/cache1-1.sec']

    # SSH: the same keys, each restricted; NixOS forces one command on all, so write is all or none.
    lines = debian['plan']['key_lines']
    assert [re.sub(r'^restrict,command="[^"]*" ', '', line) for line in lines] == \
        [re.sub(r'^restrict ', '', key) for key in definitions['nix.sshServe.keys']] == \
        ([WRITER] if writers else []) + [READER, EXTRA]
    assert all(line.startswith('restrict,command="/usr/bin/nix-') for line in lines)
    assert all(key.startswith('restrict ssh-') for key in definitions['nix.sshServe.keys'])
    assert definitions['nix.sshServe.protocol'] == protocol
    assert definitions.get('nix.sshServe.write', False) is writers
    assert 'nix.sshServe.trusted' not in definitions
    assert any('--write' in line for line in lines) is (writers and protocol == 'ssh')


def test_the_http_site_is_the_same():
    nixos = role_vars(fake_inputs(True))
    debian = role_vars(fake_inputs(False))
    conf = role_template('nginx-nixkit-cache.conf.j2', debian)
    vhost = nixos['plan']['nixos_definitions']['services.nginx.virtualHosts.nixkit-cache']
    assert nixos['plan']['nixos_definitions']['services.nginx.enable'] is True
    assert re.search(r'listen (\d+);', conf).group(1) == str(vhost['listen'][0]['port']) == '8080'
    assert re.search(r'root (\S+);', conf).group(1) == vhost['root'] == '/var/cache/nixkit/binary-cache'
    assert re.search(r'try_files (.+);', conf).group(1) == vhost['locations']['/']['tryFiles']
    assert re.search(r'auth_basic_user_file (\S+);', conf).group(1) == '/etc/nginx/nixkit-cache.htpasswd'
    # Outside the store and outside /etc/nginx on NixOS; the port is opened in NixOS's firewall.
    assert vhost['basicAuthFile'] == '/var/lib/nixkit/nixkit-cache.htpasswd'
    assert nixos['plan']['nixos_definitions']['networking.firewall.allowedTCPPorts'] == [8080]
    open_nixos = role_vars(fake_inputs(True, auth=False))['plan']['nixos_definitions']
    open_debian = role_template('nginx-nixkit-cache.conf.j2', role_vars(fake_inputs(False, auth=False)))
    assert 'basicAuthFile' not in open_nixos['services.nginx.virtualHosts.nixkit-cache']
    assert 'auth_basic' not in open_debian


def test_the_retention_units_are_the_same():
    nixos = role_vars(fake_inputs(True))
    debian = role_vars(fake_inputs(False))
    definitions = nixos['plan']['nixos_definitions']
    service, timer = definitions['systemd.services.nixkit-cache-gc'], definitions['systemd.timers.nixkit-cache-gc']
    plain_service = unit_file(role_template('nixkit-cache-gc.service.j2', debian))
    plain_timer = unit_file(role_template('nixkit-cache-gc.timer.j2', debian))
    assert plain_service['Unit'] == {'Description': service['description'], 'After': ' '.join(service['after'])}
    assert plain_timer['Unit'] == {'Description': timer['description']}
    assert plain_timer['Install'] == {'WantedBy': ' '.join(timer['wantedBy'])}
    assert {k: nixos_unit_value(v) for k, v in timer['timerConfig'].items()} == plain_timer['Timer']
    assert plain_timer['Timer']['OnCalendar'] == 'daily' and plain_timer['Timer']['Persistent'] == 'true'
    # The same unit but for where the script is: NixOS keeps it writable under /var/lib.
    nixos_service = {k: nixos_unit_value(v) for k, v in service['serviceConfig'].items()}
    assert nixos_service.pop('ExecStart') == '/var/lib/nixkit/nixkit-cache-gc'
    assert plain_service['Service'].pop('ExecStart') == '/usr/local/sbin/nixkit-cache-gc'
    assert nixos_service == plain_service['Service']


def test_what_is_off_is_not_in_the_module():
    definitions = role_vars(fake_inputs(True, ssh=False, http=False, gc=False))['plan']['nixos_definitions']
    assert sorted(definitions) == ['nix.settings']
    check(definitions)


def test_the_rebuild_is_run_only_when_asked():
    assert role_vars(fake_inputs(True, nix_cache_server_nixos_rebuild=False))['plan']['nixos_rebuild'] == []
    assert role_vars(fake_inputs(True))['plan']['nixos_rebuild'] == ['nixos-rebuild', 'switch']


@pytest.mark.parametrize('given, keys, expected', [
    (0, 3, 'MaxStartups 12:30:36'),  # 4 per key
    (0, 1, 'MaxStartups 10:30:30'),  # at least sshd's default start
    (50, 3, 'MaxStartups 50:30:150'),  # the user's value
])
def test_sshd_max_startups_is_sized_to_the_keys(given, keys, expected):
    inputs = fake_inputs(False, writers=False, nix_cache_server_sshd_max_startups=given)
    inputs['view']['reader_keys'] = [WRITER, READER, EXTRA][:keys]
    lines = role_template('sshd-nix-ssh.conf.j2', role_vars(inputs)).splitlines()
    assert [line for line in lines if line.startswith('MaxStartups')] == [expected]
    # A global setting: before the Match block, or sshd would read it as the block's.
    assert lines.index(expected) < lines.index('Match User nix-ssh')
    # NixOS: the same value in services.openssh.settings (rendered before extraConfig's Match blocks).
    nixos = fake_inputs(True, writers=False, nix_cache_server_sshd_max_startups=given)
    nixos['view']['reader_keys'] = inputs['view']['reader_keys']
    definitions = role_vars(nixos)['plan']['nixos_definitions']
    assert 'MaxStartups ' + definitions['services.openssh.settings.MaxStartups'] == expected


@pytest.mark.parametrize('values, says', [
    ({'nix_cache_server_key_name': 'bad/name'}, 'nix_cache_server_key_name and nix_cache_server_extra_key_names (bad/name)'),
    ({'nix_cache_server_extra_key_names': ['cache1-1']}, 'each name once'),
    ({'nix_cache_server_http_port': '70000'}, 'nix_cache_server_http_port must be a TCP port from 1 to 65535, got 70000'),
    ({'nix_cache_server_http_users': [{'name': 'client1'}]}, '1 entries are not like that'),
    ({'nix_cache_server_http_users': []}, 'needs nix_cache_server_http_users'),
])
def test_what_the_role_cannot_use_is_refused_naming_the_variable(values, says):
    with pytest.raises(EstateError) as error:
        role_vars(fake_inputs(False, **values))
    assert says in str(error.value)
    assert 'secret' not in str(error.value)  # never a password


def test_a_nixos_cache_serves_as_nix_ssh_only():
    with pytest.raises(EstateError, match='whose nix.sshServe always serves as nix-ssh; unset nix_cache_server_ssh_user'):
        role_vars(fake_inputs(True, nix_cache_server_ssh_user='cache'))
    assert role_vars(fake_inputs(False, nix_cache_server_ssh_user='cache'))['plan']['key_lines']
