# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The estate action's plan (which descriptors to read, which peers are down) and how it reads the
plan back (plugins/action/estate.py)."""

import socket
import threading

import pytest

from ansible_collections.nixkit.nix.plugins.action import estate as action
from ansible_collections.nixkit.nix.plugins.action.estate import ActionModule
from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_plans as role_plans
from ansible_collections.nixkit.nix.tests.unit.plugins.plugin_utils.test_plan_builder import defaults


class Templar:
    """Values are plain already (Ansible's templar would render the inventory's Jinja)."""

    def template(self, value):
        return value


def plugin():
    module = ActionModule.__new__(ActionModule)
    module._templar = Templar()
    return module


# The roles' defaults (defaults/main.yml) that the plan needs; Ansible passes them with the task's variables.
DEFAULTS = {
    'nix_builder': {'nix_builder_clients_group': 'nix_clients'},
    'nix_cache_server': {'nix_cache_server_clients_group': 'nix_clients', 'nix_cache_server_ssh_writers': []},
    'nix_client': {'nix_client_builders_group': 'nix_builders', 'nix_client_caches_group': 'nix_caches'},
}


def typed(role, **values):
    return role_args.typed(role, dict(DEFAULTS[role], **values))


def task_vars(groups, hostvars):
    return {'groups': dict(groups, all=sorted(set(h for hosts in groups.values() for h in hosts))),
            'hostvars': hostvars, 'inventory_hostname': 'b1'}


@pytest.fixture
def probed(monkeypatch):
    """Record what the plan probes; hosts named in ``down`` do not answer."""
    seen = {'targets': None, 'timeout': None, 'down': {}}

    def fake(targets, timeout=estate.PROBE_TIMEOUT, connect=None):
        seen['targets'], seen['timeout'] = dict(targets), timeout
        return {h: 'nothing answered' for h in targets if h in seen['down']}
    monkeypatch.setattr(action.estate, 'probe_ports', fake)
    return seen


def test_plan_reads_only_what_was_not_published_and_leaves_out_the_hosts_that_are_down(probed):
    probed['down'] = {'c3'}
    hostvars = {
        'b1': {},
        'c1': {'ansible_facts': {'nixkit_client': {'ssh_public_key': 'k'}}},   # published in this run
        'c2': {'ansible_host': '10.0.0.2'},
        'c3': {'ansible_host': '10.0.0.3', 'ansible_port': '2200'},
    }
    args = typed('nix_builder')
    out = plugin()._plan('nix_builder', args, task_vars({'nix_clients': ['c1', 'c2', 'c3'], 'nix_builders': ['b1']}, hostvars))
    assert out['read'] == [{'host': 'c2', 'kind': 'client'}]
    assert out['down'] == [{'host': 'c3', 'kind': 'client', 'msg': 'nothing answered'}]
    assert probed['targets'] == {'c2': ('10.0.0.2', 22), 'c3': ('10.0.0.3', 2200)}
    assert probed['timeout'] == estate.PROBE_TIMEOUT


def test_plan_of_a_client_reads_builders_and_caches_with_its_descriptor_path_and_timeout(probed):
    hostvars = {'c1': {}, 'b1': {'ansible_port': 2222}, 'k1': {'ansible_connection': 'local'}}
    args = typed('nix_client', nix_client_preflight_timeout='3',
                 nix_client_cache_descriptor_path='/srv/cache.json')
    out = plugin()._plan('nix_client', args, task_vars({'nix_clients': ['c1'], 'nix_builders': ['b1'],
                                                        'nix_caches': ['k1']}, hostvars))
    assert out['read'] == [{'host': 'b1', 'kind': 'builder'}, {'host': 'k1', 'kind': 'cache', 'path': '/srv/cache.json'}]
    assert out['down'] == []
    # k1 is not reached over SSH: nothing to probe.
    assert probed['targets'] == {'b1': ('b1', 2222)} and probed['timeout'] == 3


def test_plan_of_a_cache_reads_its_writers_from_a_string_and_skips_unknown_ones(probed):
    hostvars = {'k1': {}, 'c1': {}, 'w1': {}}
    args = typed('nix_cache_server', nix_cache_server_ssh_writers='w1, nowhere,c1')
    out = plugin()._plan('nix_cache_server', args, task_vars({'nix_clients': ['c1'], 'nix_caches': ['k1'],
                                                              'other': ['w1']}, hostvars))
    assert out['read'] == [{'host': 'c1', 'kind': 'client'}, {'host': 'w1', 'kind': 'client'}]


def test_plan_fails_naming_a_port_that_is_not_a_number(probed):
    args = typed('nix_builder')
    with pytest.raises(estate.EstateError, match='ansible_port of c1'):
        plugin()._plan('nix_builder', args, task_vars({'nix_clients': ['c1']}, {'c1': {'ansible_port': 'ssh'}}))


def test_the_plans_down_hosts_become_unreachable_peers():
    down = [{'host': 'gone', 'kind': 'client', 'msg': 'nothing answered on 10.0.0.9 port 22 within 10 s'},
            {'host': 'b2', 'kind': 'builder'}, 'not an entry', {'kind': 'cache'}]
    assert ActionModule._down(down) == {
        'gone': ('client', 'nothing answered on 10.0.0.9 port 22 within 10 s'),
        'b2': ('builder', 'its SSH port did not answer'),
    }


def test_read_results_are_keyed_by_host_whatever_their_order():
    fetched = [
        {'item': {'host': 'c2', 'kind': 'client'}, 'descriptor': {'ssh_public_key': 'k2'}},
        {'item': {'host': 'c1', 'kind': 'client'}, 'failed': True, 'msg': 'Permission denied '},
        {'item': {'host': 'k1', 'kind': 'cache', 'path': '/x'}, 'descriptor': {}},
    ]
    found, unreachable = plugin()._descriptors({'hostvars': {'c3': {'ansible_facts': {'nixkit_client': {'ssh_public_key': 'k3'}}}}},
                                               fetched)
    assert found == {'c2': {'client': {'ssh_public_key': 'k2'}}, 'c3': {'client': {'ssh_public_key': 'k3'}}}
    assert unreachable == {'c1': ('client', 'Permission denied')}


@pytest.mark.parametrize('role, view, says', [
    ('nix_builder', {'keyless_clients': ['c1', 'c2'], 'unreachable_clients': ['c2']},
     'Not authorized yet (no keys published; run nixkit.nix.nix_client there first): c1, c2; unreachable: c2'),
    ('nix_cache_server', {'keyless_clients': ['c1'], 'unreachable_clients': []},
     'Not authorized yet (no keys published; run nixkit.nix.nix_client there first): c1'),
    ('nix_client', {'builders_missing': ['b1'], 'caches_missing': ['k1']}, 'there first): b1, k1'),
    ('nix_client', {'builders_missing': [], 'caches_missing': []}, None),
    ('nix_builder', {'keyless_clients': []}, None),
])
def test_peers_not_wired_in_yet_are_named_in_a_warning(role, view, says):
    warning = role_plans.PLANS[role].not_yet(view)
    assert warning == says if says is None or says.startswith('Not') else says in warning


def test_probe_ports_names_a_closed_port_and_passes_an_open_one():
    listening = socket.socket()
    listening.bind(('127.0.0.1', 0))
    listening.listen(1)
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        down = estate.probe_ports({'up': ('127.0.0.1', listening.getsockname()[1]), 'gone': ('127.0.0.1', closed_port)},
                                  timeout=2)
    finally:
        listening.close()
    assert list(down) == ['gone'] and ('127.0.0.1 port %d' % closed_port) in down['gone']


def test_probe_ports_probes_all_hosts_at_once_and_names_a_timeout():
    # Each probe waits until all three are under way: probes made one after the other break the barrier.
    barrier = threading.Barrier(3, timeout=10)
    timeouts = []

    def slow(address, timeout):
        timeouts.append(timeout)
        barrier.wait()
        raise socket.timeout()

    down = estate.probe_ports({'a': ('10.0.0.1', 22), 'b': ('10.0.0.2', 2222), 'c': ('10.0.0.3', 22)}, timeout=5, connect=slow)
    assert down == {'a': 'nothing answered on 10.0.0.1 port 22 within 5 s',
                    'b': 'nothing answered on 10.0.0.2 port 2222 within 5 s',
                    'c': 'nothing answered on 10.0.0.3 port 22 within 5 s'}
    assert timeouts == [5, 5, 5]
    assert estate.probe_ports({}) == {}


def run_estate(role, values, hostvars, groups, probe_out='', view='main', inventory_hostname='b1'):
    """The action's run() as a task would call it: the role's variables among the task's, one probe command."""
    module = plugin()
    module._start = lambda tmp, tv, spec: {'role': role, 'view': view, 'fetched': [], 'down': []}
    module._run = lambda script, data=None: {'rc': 0, 'stdout': probe_out, 'stderr': ''}
    tv = dict(task_vars(groups, hostvars), inventory_hostname=inventory_hostname, **values)
    return module.run(task_vars=tv)


def test_run_gives_a_builder_its_plan_with_the_daemon_the_probe_found():
    probe_out = 'os debian||Debian\nstate 0 root root\nversion nix (Nix) 2.26.3\ndaemon /usr/bin/nix-daemon\n'
    key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIClientKeyClientKeyClientKeyClientKey00 root@c1'
    hostvars = {'b1': {}, 'c1': {'ansible_facts': {'nixkit_client': {'ssh_public_key': key}}}}
    values = dict(defaults('nix_builder'), nix_builder_clients_group='nix_clients', nix_builder_nixos_rebuild=False,
                  nix_builder_nixos_rebuild_command=['nixos-rebuild', 'switch'])
    out = run_estate('nix_builder', values, hostvars, {'nix_clients': ['c1'], 'nix_builders': ['b1']}, probe_out)
    assert not out.get('failed'), out
    assert out['daemon'] == '/usr/bin/nix-daemon' and out['nixos'] is False
    assert out['plan']['key_lines'] == ['restrict,command="/usr/bin/nix-daemon --stdio" ' + key]
    assert out['nix_path'].startswith('/run/current-system/sw/bin:/nix/var/nix/profiles/default/bin:')
    # A host whose files the probe did not show: every step runs, and nothing is published before it.
    assert out['differs']['any'] and out['differs']['authorized_keys'] and 'ansible_facts' not in out


def test_run_refuses_a_builder_whose_variables_do_not_fit_before_any_change():
    probe_out = 'version nix (Nix) 2.26.3\ndaemon /usr/bin/nix-daemon\n'
    values = dict(defaults('nix_builder'), nix_builder_clients_group='nix_clients', nix_builder_protocol='ssh',
                  nix_builder_trusted='no', nix_builder_user='nb')
    out = run_estate('nix_builder', values, {'b1': {}}, {'nix_builders': ['b1']}, probe_out)
    assert out['failed'] and out['msg'].startswith('nix_builder_protocol=ssh: the legacy "ssh" protocol')


def test_run_gives_a_deploy_target_its_reach_from_its_own_variables():
    values = {'nixos_deploy_file': '/srv/systems.nix', 'nixos_deploy_target_address': '',
              'ansible_host': '192.0.2.7', 'nixkit_address': 'web1.internal', 'nixkit_ssh_port': '2222',
              'nixkit_ssh_options': {'ProxyJump': 'jump@192.0.2.1'}}
    out = run_estate('nixos_deploy', values, {'web1': {}}, {'nixos_targets': ['web1']}, inventory_hostname='web1')
    assert not out.get('failed'), out
    assert out['target']['store_url'] == 'ssh-ng://root@web1.internal'
    assert out['target']['sshopts'] == '-p 2222 -o HostKeyAlias=web1.internal -o ProxyJump=jump@192.0.2.1'
    assert 'nixos' not in out  # the deploy does not look at the target here


def test_a_view_the_role_does_not_have_is_refused():
    out = run_estate('nix_builder', {}, {'b1': {}}, {}, view='netrc')
    assert out['failed'] and out['msg'] == 'view=netrc is not a view of role nix_builder'


def test_run_on_a_converged_builder_publishes_its_descriptor_and_leaves_nothing_to_do():
    from ansible_collections.nixkit.nix.tests.unit.plugins.plugin_utils import test_plan_builder as builder_tests
    from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_builder as plan_builder
    key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIClientKeyClientKeyClientKeyClientKey00 root@client1'
    signing = 'client1-1:U2lnbmluZ0tleU9mQ2xpZW50MQ=='
    values = dict(defaults('nix_builder'), nix_builder_clients_group='nix_clients', nix_builder_nixos_rebuild=False,
                  nix_builder_nixos_rebuild_command=['nixos-rebuild', 'switch'])
    typed = role_args.typed('nix_builder', values)
    view = {'ssh_keys': [key], 'signing_keys': [signing]}
    plan = plan_builder.plan('b1', typed, view, {'daemon': '/usr/bin/nix-daemon'})
    state = builder_tests.converged_state(plan, typed)
    # The probe's lines for that state, as the shell prints them.
    lines = ['os debian||Debian', 'state 0 root root', 'version nix (Nix) 2.26.3', 'daemon /usr/bin/nix-daemon']
    lines += ['file %s %s %s' % ('dir' if f['dir'] else f['sha256'], f['stat'], p) for p, f in state['files'].items()]
    lines += ['include yes %s %s' % pair for pair in state['includes']]
    lines += ['account nixbuilder /var/lib/nixbuilder /bin/sh nixbuilder,nix-users *', 'reach yes nixbuilder',
              'hostkey ' + state['host_key']]
    lines += ['config %s = %s' % item for item in state['config'].items()]
    hostvars = {'b1': {}, 'client1': {'ansible_facts': {'nixkit_client': {'ssh_public_key': key,
                                                                          'signing_public_key': signing}}}}
    out = run_estate('nix_builder', values, hostvars, {'nix_clients': ['client1'], 'nix_builders': ['b1']},
                     '\n'.join(lines) + '\n')
    assert not out.get('failed'), out
    assert not out['differs']['any'], out['differs']
    assert out['ansible_facts'] == {'nixkit_builder': plan_builder.descriptor(typed, state)}


def test_the_keys_view_reads_the_keys_and_publishes_a_descriptor_that_holds():
    from ansible_collections.nixkit.nix.tests.unit.plugins.plugin_utils import test_plan_client as client_tests
    state = client_tests.keys_state()
    lines = ['file %s %s %s' % ('dir' if f['dir'] else f['sha256'], f['stat'], p) for p, f in state['files'].items()]
    lines += ['lines %s %s' % (p, text) for p, texts in state['lines'].items() for text in texts]
    lines += ['derived %s %s' % item for item in state['derived'].items()]
    values = dict(defaults('nix_client'), nix_client_builders_group='nix_builders', nix_client_caches_group='nix_caches',
                  nix_client_signing_key_name='client1-1', nix_client_nixos_rebuild=False,
                  nix_client_nixos_rebuild_command=['nixos-rebuild', 'switch'])
    out = run_estate('nix_client', values, {'client1': {}}, {'nix_clients': ['client1']}, '\n'.join(lines) + '\n',
                     view='keys', inventory_hostname='client1')
    assert not out.get('failed'), out
    assert not any(out['differs'].values()), out['differs']
    assert out['signing_public_key'] == client_tests.SIGNING_PUB
    assert out['ansible_facts'] == {'nixkit_client': {'ssh_public_key': client_tests.SSH_PUB,
                                                      'signing_public_key': client_tests.SIGNING_PUB}}
