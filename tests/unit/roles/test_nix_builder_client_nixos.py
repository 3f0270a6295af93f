# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nix_builder and nix_client on NixOS say what they say on Debian: each role's vars/main.yml is rendered
with a fake estate view (as nixkit.nix.estate returns it) for both paths, and the NixOS module's
definitions are compared with the Debian files: the same settings, the same authorized keys, the same
machines entries."""

import os

import yaml
from jinja2 import StrictUndefined, Undefined
from jinja2.exceptions import UndefinedError

from ansible.plugins.filter.mathstuff import FilterModule as MathFilters

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf, _nix_machines
from ansible_collections.nixkit.nix.plugins.module_utils._nixos_module import check, render
from ansible_collections.nixkit.nix.tests.unit.plugins.module_utils.test_nixos_render import (
    HOST_KEY, nixos_conf_value, nixos_machines_line)
from ansible_collections.nixkit.nix.tests.unit.roles.test_nix_cache_server_nixos import environment

ROLES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles')
CLIENT_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIClientKeyClientKeyClientKeyClientKey00 root@client1'
SIGNING = 'client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ=='


def has_undefined(value):
    """Jinja builds a dict or list around an undefined variable without complaint."""
    if isinstance(value, Undefined):
        return True
    if isinstance(value, dict):
        return any(has_undefined(v) for v in value.values())
    if isinstance(value, list):
        return any(has_undefined(v) for v in value)
    return False


def template(env, data, context):
    """As Ansible templates a variable: strings inside maps and lists too."""
    if isinstance(data, str) and '{{' in data:
        return env.from_string(data).render(**context)
    if isinstance(data, dict):
        return dict((k, template(env, v, context)) for k, v in data.items())
    if isinstance(data, list):
        return [template(env, v, context) for v in data]
    return data


def rendered_vars(role, context):
    """The role's defaults (those without expressions) and vars/main.yml, rendered in order."""
    env = environment(native=True)
    env.filters.update(MathFilters().filters())  # unique, as Ansible has it (a list)
    with open(os.path.join(ROLES, role, 'defaults', 'main.yml')) as handle:
        defaults = {k: v for k, v in yaml.safe_load(handle).items() if '{{' not in str(v)}
    env.undefined = StrictUndefined
    context = dict(defaults, **context)
    with open(os.path.join(ROLES, role, 'vars', 'main.yml')) as handle:
        pending = yaml.safe_load(handle)
    # Ansible's variables are lazy: a variable may use one defined further down. Render in passes.
    for _pass in range(len(pending)):
        for name, data in list(pending.items()):
            try:
                value = template(env, data, context)
            except UndefinedError:
                continue
            if not has_undefined(value):
                context[name] = value
                del pending[name]
    assert not pending, 'unresolved: %s' % ', '.join(pending)
    return context


def debian_settings(settings):
    """What nix_conf writes for these settings, as Nix reads it back."""
    lines, _changed = _nix_conf.apply([], settings)
    return _nix_conf.effective(lines)


def builder(trusted=False, protocol='ssh-ng'):
    return rendered_vars('nix_builder', dict(
        __nix_builder_daemon_bin={'rc': 0, 'stdout': '/run/current-system/sw/bin/nix-daemon'},
        __nix_builder={'ssh_keys': [CLIENT_KEY], 'signing_keys': [SIGNING],
                       'args': {'max_jobs': 4, 'cores': 2, 'system_features': ['kvm'], 'trusted': trusted,
                                'protocol': protocol, 'sshd_max_startups': 0}}))


def test_builder_module_authorizes_the_keys_user_yml_writes():
    context = builder()
    user = context['__nix_builder_nixos_definitions']['users.users.nixbuilder']
    template = environment(native=False).from_string(
        '{% for line in __nix_builder_key_lines %}{{ line }}\n{% endfor %}').render(**context)
    assert user['openssh.authorizedKeys.keys'] == template.splitlines()
    assert user['openssh.authorizedKeys.keys'] == [
        'restrict,command="/run/current-system/sw/bin/nix-daemon --stdio" ' + CLIENT_KEY]
    assert user['isSystemUser'] and user['home'] == '/var/lib/nixbuilder'


def test_builder_module_sets_the_settings_nix_conf_gets():
    for trusted in (False, True):
        context = builder(trusted=trusted, protocol='ssh-ng' if not trusted else 'ssh')
        settings = context['__nix_builder_nixos_definitions']['nix.settings']
        assert settings == context['__nix_builder_nix_settings']
        assert debian_settings(settings) == dict((k, nixos_conf_value(v)) for k, v in settings.items())
        assert ('extra-trusted-users' in settings) == trusted
        check(context['__nix_builder_nixos_definitions'])  # only recorded options, with their types


def client(netrc=False):
    context = rendered_vars('nix_client', dict(
        nix_client_signing_secret='/etc/nix/nixkit-client-signing.sec',
        __nix_client_accounts={'netrc': [{'machine': 'cache1', 'login': 'c', 'password': 'p'}] if netrc else []},
        __nix_client={'builders': [dict(host='builder1.lab', user='nixbuilder', systems=['x86_64-linux'], max_jobs=2,
                                        public_host_key=HOST_KEY, supported_features=['kvm'])],
                      'substituters': ['ssh://nix-ssh@cache1.lab?base64-ssh-public-host-key=AAAA'],
                      'cache_keys': ['cache1-1:Q2FjaGVLZXlPZkNhY2hlMQ=='],
                      'ssh_config': 'Host builder1.lab\n  Port 2222\n  HostKeyAlias builder1.lab\n',
                      'args': {'builders_use_substitutes': True, 'build_poll_interval': 1, 'max_jobs': 0,
                               'substituters': [], 'trusted_public_keys': [], 'nixos_rebuild': False,
                               'nixos_rebuild_command': ['nixos-rebuild', 'switch']}}))
    return context


def test_client_module_sets_the_settings_and_machines_the_files_get():
    for netrc in (False, True):
        context = client(netrc)
        definitions = context['__nix_client_nixos_definitions']
        debian = debian_settings(context['__nix_client_settings'])
        # NixOS writes the builders line itself (nix.buildMachines -> @/etc/nix/machines).
        assert debian.pop('builders') == '@/etc/nix/machines'
        assert debian == dict((k, nixos_conf_value(v)) for k, v in definitions['nix.settings'].items())
        assert ('netrc-file' in definitions['nix.settings']) == netrc
        assert definitions['programs.ssh.extraConfig'] == context['__nix_client'].get('ssh_config')
        machines = context['__nix_client_machines']
        nixos = [_nix_machines.parse(nixos_machines_line(m))[0] for m in _nix_machines.build_machines(machines)]
        assert nixos == [_nix_machines.parse(line)[0] for line in _nix_machines.machines(machines)]
        text = render(dict(definitions, **{'nix.buildMachines': _nix_machines.build_machines(machines)}), 'test')
        assert 'hostName = "builder1.lab";' in text and 'max-jobs = lib.mkDefault 0;' in text


def test_builder_sizes_max_startups_to_its_clients():
    assert builder()['__nix_builder_max_startups'] == 10  # one client: sshd's default stays
    # On NixOS the same value goes to services.openssh.settings, as a default the host's own value overrides.
    context = builder()
    assert context['__nix_builder_nixos_definitions']['services.openssh.settings.MaxStartups'] == '10:30:30'
    text = render(context['__nix_builder_nixos_definitions'], 'test')
    assert 'services.openssh.settings.MaxStartups = lib.mkDefault "10:30:30";' in text
